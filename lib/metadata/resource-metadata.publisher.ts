import { Inject, Injectable, Optional, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { RESOLVED_OPTIONS } from '../introspection.constants.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { buildResourceMetadataDocument } from './resource-metadata.js';

/**
 * Publishes RFC 9728 protected-resource metadata (the `resourceMetadata` option) at each resource's
 * well-known path: `GET /.well-known/oauth-protected-resource` for `https://host`, `…/oauth-protected-resource/mcp`
 * for `https://host/mcp`. Registered on the HTTP adapter itself (Express or Fastify), at the server's root
 * whatever the global prefix (RFC 8615 well-known URIs live at the root), outside guards: no token needed.
 * Works with `forRoot` and `forRootAsync` alike. Documents are built once, at start-up.
 */
@Injectable()
export class ResourceMetadataPublisher implements OnModuleInit {
  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    @Optional() private readonly adapterHost?: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    const adapter = this.adapterHost?.httpAdapter;
    if (!adapter || this.options.resourceMetadata.length === 0) return;
    const dpop = this.options.dpop === false ? (false as const) : this.options.dpop;
    for (const entry of this.options.resourceMetadata) {
      const document = buildResourceMetadataDocument(entry, { dpop, mtlsCertificateHeader: this.options.mtls.certificateHeader, tokenSources: this.options.tokenSources });
      const cacheControl = `public, max-age=${entry.cacheMaxAgeSeconds}`;
      adapter.get(entry.metadataPath, (_request: unknown, response: unknown) => {
        adapter.setHeader(response, 'cache-control', cacheControl);
        adapter.reply(response, document, 200);
      });
    }
  }
}
