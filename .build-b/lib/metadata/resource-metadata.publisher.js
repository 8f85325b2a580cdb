var __decorate = (this && this.__decorate) || function (decorators, target, key, desc) {
    var c = arguments.length, r = c < 3 ? target : desc === null ? desc = Object.getOwnPropertyDescriptor(target, key) : desc, d;
    if (typeof Reflect === "object" && typeof Reflect.decorate === "function") r = Reflect.decorate(decorators, target, key, desc);
    else for (var i = decorators.length - 1; i >= 0; i--) if (d = decorators[i]) r = (c < 3 ? d(r) : c > 3 ? d(target, key, r) : d(target, key)) || r;
    return c > 3 && r && Object.defineProperty(target, key, r), r;
};
var __metadata = (this && this.__metadata) || function (k, v) {
    if (typeof Reflect === "object" && typeof Reflect.metadata === "function") return Reflect.metadata(k, v);
};
var __param = (this && this.__param) || function (paramIndex, decorator) {
    return function (target, key) { decorator(target, key, paramIndex); }
};
import { Inject, Injectable, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { RESOLVED_OPTIONS } from '../introspection.constants.js';
import { buildResourceMetadataDocument } from './resource-metadata.js';
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
let ResourceMetadataPublisher = class ResourceMetadataPublisher {
    constructor(options, adapterHost) {
        this.options = options;
        this.adapterHost = adapterHost;
        this.registered = false;
    }
    /** Called from the module's `configure()` (before Nest registers routes); idempotent. */
    register() {
        const adapter = this.adapterHost?.httpAdapter;
        if (this.registered || !adapter || this.options.resourceMetadata.length === 0)
            return;
        this.registered = true;
        const dpop = this.options.dpop === false ? false : this.options.dpop;
        const documents = new Map();
        for (const entry of this.options.resourceMetadata) {
            const document = buildResourceMetadataDocument(entry, { dpop, mtlsCertificateHeader: this.options.mtls.certificateHeader, tokenSources: this.options.tokenSources });
            documents.set(entry.metadataPath, { body: JSON.stringify(document), cacheControl: `public, max-age=${entry.cacheMaxAgeSeconds}` });
        }
        adapter.use((request, response, next) => {
            if (request.method !== 'GET' && request.method !== 'HEAD')
                return next();
            const url = request.originalUrl ?? request.url ?? '';
            const query = url.indexOf('?');
            const published = documents.get(query === -1 ? url : url.slice(0, query));
            if (!published)
                return next();
            response.writeHead(200, {
                'content-type': 'application/json; charset=utf-8',
                'content-length': Buffer.byteLength(published.body),
                'cache-control': published.cacheControl,
            });
            response.end(request.method === 'HEAD' ? undefined : published.body);
        });
    }
    /** Fallback when `configure()` did not run (it always does in an HTTP app). */
    onModuleInit() {
        this.register();
    }
};
ResourceMetadataPublisher = __decorate([
    Injectable(),
    __param(0, Inject(RESOLVED_OPTIONS)),
    __param(1, Optional()),
    __metadata("design:paramtypes", [Object, HttpAdapterHost])
], ResourceMetadataPublisher);
export { ResourceMetadataPublisher };
