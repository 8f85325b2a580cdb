import { Controller, Get, Inject, NotFoundException, Req, Res } from '@nestjs/common';
import { Public } from '../decorators/public.decorator.js';
import { RESOLVED_OPTIONS } from '../introspection.constants.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { buildResourceMetadataDocument, RESOURCE_METADATA_WELL_KNOWN } from './resource-metadata.js';

/**
 * Serves RFC 9728 protected-resource metadata: `GET /.well-known/oauth-protected-resource` and its
 * path-suffixed variants (`…/oauth-protected-resource/mcp` for the resource `https://host/mcp`), from the
 * `resourceMetadata` option. Public (no token). Documents are built once, at start-up.
 */
@Controller()
@Public()
export class ResourceMetadataController {
  private readonly documents = new Map<string, { body: string; cacheControl: string }>();

  constructor(@Inject(RESOLVED_OPTIONS) options: ResolvedOptions) {
    const accepts = { dpop: options.dpop === false ? (false as const) : options.dpop, mtlsCertificateHeader: options.mtls.certificateHeader };
    for (const entry of options.resourceMetadata) {
      this.documents.set(entry.metadataPath, {
        body: JSON.stringify(buildResourceMetadataDocument(entry, accepts)),
        cacheControl: `public, max-age=${entry.cacheMaxAgeSeconds}`,
      });
    }
  }

  @Get(RESOURCE_METADATA_WELL_KNOWN.slice(1))
  root(@Req() request: any, @Res() response: any): void {
    this.serve(request, response);
  }

  @Get(`${RESOURCE_METADATA_WELL_KNOWN.slice(1)}/*path`)
  suffixed(@Req() request: any, @Res() response: any): void {
    this.serve(request, response);
  }

  private serve(request: any, response: any): void {
    const url: string = request.originalUrl ?? request.raw?.url ?? request.url ?? '';
    const path = url.split('?')[0];
    // Under a global prefix the route sits below it; the resource's path starts at the well-known segment.
    const at = path.indexOf(RESOURCE_METADATA_WELL_KNOWN);
    const document = at < 0 ? undefined : this.documents.get(decodeURI(path.slice(at)));
    if (!document) throw new NotFoundException('No protected-resource metadata at this path.');
    // `@Res()`: the same JSON bytes and headers on Express and Fastify.
    if (typeof response.header === 'function') {
      response.header('content-type', 'application/json').header('cache-control', document.cacheControl);
    } else {
      response.setHeader('content-type', 'application/json');
      response.setHeader('cache-control', document.cacheControl);
    }
    if (typeof response.status === 'function') response.status(200);
    response.send(document.body);
  }
}
