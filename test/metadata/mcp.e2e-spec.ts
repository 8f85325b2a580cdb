import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { discoverOAuthProtectedResourceMetadata, extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';
import { ADAPTERS } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../support/authorization-server.js';
import { startMcpSample } from '../support/mcp.js';

describe.each(ADAPTERS)('MCP server sample (Streamable HTTP) over %s, the MCP SDK client, a real oidc-provider', (adapter) => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let resource: string;
  let origin: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    ({ app, origin, resource } = await startMcpSample(adapter, as));
  });
  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await app?.close();
    await as?.stop();
  });

  const connect = async (scope: string) => {
    const client = new Client({ name: 'test-client', version: '1.0.0' });
    clients.push(client);
    const authProvider = new ClientCredentialsProvider({ ...CLIENTS.app, scope, expectedIssuer: as.issuer });
    await client.connect(new StreamableHTTPClientTransport(new URL(resource), { authProvider }));
    return { client, authProvider };
  };

  it('without a token: 401 whose challenge points at the RFC 9728 metadata, which the SDK discovers', async () => {
    const res = await fetch(resource, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    expect(res.status).toBe(401);
    const { resourceMetadataUrl } = extractWWWAuthenticateParams(res);
    expect(resourceMetadataUrl?.href).toBe(`${origin}/.well-known/oauth-protected-resource/mcp`);
    const metadata = await discoverOAuthProtectedResourceMetadata(new URL(resource), { resourceMetadataUrl });
    expect(metadata).toMatchObject({ resource, authorization_servers: [as.issuer], scopes_supported: ['read', 'write'], bearer_methods_supported: ['header'] });
  });

  it('the SDK client authorizes by itself (401 → metadata → token for this resource) and calls a tool', async () => {
    as.resetCounters();
    const { client, authProvider } = await connect('read');
    expect(as.tokenRequests).toBe(1);
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    expect(JSON.parse((result.content as Array<{ text: string }>)[0].text)).toEqual({ client_id: CLIENTS.app.clientId, scopes: ['read'] });
    // The token the SDK obtained names this MCP server as its audience (RFC 8707), as the guard requires.
    const introspected = await fetch(as.introspectionEndpoint, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${CLIENTS.basic.clientId}:${CLIENTS.basic.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token: authProvider.tokens()!.access_token }),
    }).then((r) => r.json() as Promise<{ aud?: unknown }>);
    expect(introspected.aud).toBe(resource);
  });

  it('a tool needing a scope the token lacks: 403 insufficient_scope; with that scope it works', async () => {
    const { client } = await connect('read');
    const error = await client.callTool({ name: 'create_order', arguments: {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StreamableHTTPError);
    expect((error as StreamableHTTPError).code).toBe(403);

    const res = await fetch(resource, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await as.issueToken({ scope: 'read', resource })}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'create_order', arguments: {} } }),
    });
    expect(res.status).toBe(403);
    expect(extractWWWAuthenticateParams(res)).toMatchObject({ error: 'insufficient_scope', scope: 'read write' });
    expect(res.headers.get('www-authenticate')).toContain(`resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp"`);

    const { client: writer } = await connect('read write');
    const created = await writer.callTool({ name: 'create_order', arguments: {} });
    expect(JSON.parse((created.content as Array<{ text: string }>)[0].text)).toEqual({ created: true });
  });

  it('a token for another resource is refused (401 invalid_token), even from the same authorization server', async () => {
    const other = await as.issueToken({ scope: 'read write', resource: 'https://elsewhere.example.com/mcp' });
    const res = await fetch(resource, {
      method: 'POST',
      headers: { authorization: `Bearer ${other}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'ping' }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });
});
