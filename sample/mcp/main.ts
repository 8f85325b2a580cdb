import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { EmbeddedAuthorizationServer, CLIENTS } from '../embedded-authorization-server.js';
import { McpSampleModule } from './mcp-server.module.js';

// `npm run sample:mcp`: the MCP server on http://127.0.0.1:3001/mcp, protected by tokens of an embedded oidc-provider.
const port = Number(process.env.PORT ?? 3001);
const as = await EmbeddedAuthorizationServer.start();
const resource = `http://127.0.0.1:${port}/mcp`;
const app = await NestFactory.create(
  McpSampleModule.forRoot({
    resource,
    introspection: { issuer: as.issuer, ...CLIENTS.basic, allowInsecureRequests: true },
  }),
);
await app.listen(port, '127.0.0.1');
const token = await as.issueToken({ scope: 'read', resource });
console.log(`MCP server: ${resource}   metadata: http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`);
console.log(`Authorization server: ${as.issuer} (client credentials: ${CLIENTS.app.clientId} / ${CLIENTS.app.clientSecret})`);
console.log(`A token for it (scope read, aud ${resource}):\n  ${token}`);
