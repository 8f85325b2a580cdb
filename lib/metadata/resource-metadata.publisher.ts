import { Inject, Injectable, Optional, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RESOLVED_OPTIONS } from '../introspection.constants.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { ResolvedProtectedResource } from './resource-metadata.js';

/** The resolved options with the metadata capability's own view of `resourceMetadata`. */
type MetadataOptions = ResolvedOptions & { readonly resourceMetadata: readonly ResolvedProtectedResource[] };
import { buildResourceMetadataDocument } from './resource-metadata.js';

interface PublishedDocument {
  readonly body: string;
  readonly cacheControl: string;
}

/**
 * Publishes RFC 9728 protected-resource metadata (the `resourceMetadata` option) at each resource's
 * well-known path: `GET /.well-known/oauth-protected-resource` for `https://host`, `…/oauth-protected-resource/mcp`
 * for `https://host/mcp`. One middleware on the HTTP adapter itself (Express or Fastify), added while Nest
 * configures middleware, i.e. before any of the app's routes: an app catch-all (`@Get('*path')`, an SPA fallback,
 * a guarded proxy) cannot take the document over. It matches the exact path (no router syntax: a resource path
 * holding `:`, `*`, `(` or percent-encoding is served at exactly the URL its challenges name), at the server's
 * root whatever the global prefix (RFC 8615 well-known URIs live at the root), for GET and HEAD, outside guards:
 * no token needed. Works with `forRoot` and `forRootAsync` alike. Documents are built once, at start-up.
 */
@Injectable()
export class ResourceMetadataPublisher implements OnModuleInit {
  private registered = false;

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: MetadataOptions,
    @Optional() private readonly adapterHost?: HttpAdapterHost,
  ) {}

  /** Called from the module's `configure()` (before Nest registers routes); idempotent. */
  register(): void {
    const adapter = this.adapterHost?.httpAdapter;
    if (this.registered || !adapter || this.options.resourceMetadata.length === 0) return;
    this.registered = true;
    const dpop = this.options.dpop === false ? (false as const) : this.options.dpop;
    const documents = new Map<string, PublishedDocument>();
    for (const entry of this.options.resourceMetadata) {
      const document = buildResourceMetadataDocument(entry, {
        dpop,
        mtlsCertificateHeader: this.options.mtls.certificateHeader,
        tokenSources: this.options.tokenSources,
      });
      documents.set(entry.metadataPath, { body: JSON.stringify(document), cacheControl: `public, max-age=${entry.cacheMaxAgeSeconds}` });
    }
    adapter.use((request: IncomingMessage & { originalUrl?: string }, response: ServerResponse, next: () => void) => {
      if (request.method !== 'GET' && request.method !== 'HEAD') return next();
      const url = request.originalUrl ?? request.url ?? '';
      const query = url.indexOf('?');
      const published = documents.get(query === -1 ? url : url.slice(0, query));
      if (!published) return next();
      response.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(published.body),
        'cache-control': published.cacheControl,
      });
      response.end(request.method === 'HEAD' ? undefined : published.body);
    });
  }

  /** Fallback when `configure()` did not run (it always does in an HTTP app). */
  onModuleInit(): void {
    this.register();
  }
}
