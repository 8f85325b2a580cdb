// Adversarial review of the MCP sample (round 17a; was attack17a-mcp).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { request as httpRequest } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ADAPTERS } from '../../support/app.js';
import { TestAuthorizationServer } from '../../support/authorization-server.js';
import { startMcpSample } from '../../support/mcp.js';

describe.each(ADAPTERS)('the MCP sample against hostile clients over %s', (adapter) => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let resource: string;
  let origin: string;

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    ({ app, origin, resource } = await startMcpSample(adapter, as));
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
  });

  const post = async (body: unknown, token?: string, extra: Record<string, string> = {}) => {
    const res = await fetch(resource, {
      method: 'POST',
      signal: AbortSignal.timeout(4000),
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...extra,
      },
      body: JSON.stringify(body),
    }).catch((e: Error) => ({ status: `no answer: ${e.name}`, text: async () => '' }) as const);
    return { status: res.status, text: await res.text() };
  };

  // ATTACK: a tool name that is an Object.prototype member makes TOOL_SCOPES[name] a function/object, `.filter` throws.
  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])('tools/call with name %s never answers 500 nor hangs', async (name) => {
    const token = await as.issueToken({ scope: 'read', resource });
    const res = await post({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: {} } }, token);
    // Express: 500 (TypeError: needed.filter is not a function). Fastify: the reply was hijacked, so the thrown
    // error leaves an empty 200 — no JSON-RPC answer at all.
    expect({ status: res.status, jsonRpc: res.text.includes('"jsonrpc"') }).toEqual({ status: 200, jsonRpc: true });
  });

  it('the SDK client without any token gets 401 (no auth provider → error)', async () => {
    const client = new Client({ name: 'no-token', version: '1.0.0' });
    const error = await client.connect(new StreamableHTTPClientTransport(new URL(resource))).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeDefined();
    expect(String((error as Error).message)).toMatch(/401|Unauthorized/i);
    await client.close().catch(() => undefined);
  });

  it('SDK client with a static token for another resource: 401', async () => {
    const other = await as.issueToken({ scope: 'read write', resource: 'http://127.0.0.1:1/mcp' });
    const client = new Client({ name: 'other', version: '1.0.0' });
    const error = await client
      .connect(new StreamableHTTPClientTransport(new URL(resource), { requestInit: { headers: { authorization: `Bearer ${other}` } } }))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(String((error as Error)?.message)).toMatch(/401|Unauthorized/i);
    await client.close().catch(() => undefined);
  });

  it('a JSON-RPC batch hiding create_order behind a ping still gets 403', async () => {
    const token = await as.issueToken({ scope: 'read', resource });
    const res = await post(
      [
        { jsonrpc: '2.0', id: 1, method: 'ping' },
        { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'create_order', arguments: {} } },
      ],
      token,
    );
    expect(res.status).toBe(403);
  });

  // Was a NOTE (a foreign Origin was served); the sample now checks Host and Origin (DNS-rebinding protection).
  it('a foreign Origin or Host (DNS rebinding) is refused even with a valid token; its own origin is served', async () => {
    const token = await as.issueToken({ scope: 'read', resource });
    const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };
    const foreignOrigin = await post(ping, token, { origin: 'http://evil.example' });
    expect({ status: foreignOrigin.status, jsonRpc: foreignOrigin.text.includes('"jsonrpc"') }).toEqual({ status: 403, jsonRpc: true });
    const u = new URL(resource);
    const foreignHost = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          method: 'POST',
          headers: {
            host: `evil.example:${u.port}`,
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(ping));
    });
    expect(foreignHost).toBe(403);
    expect((await post(ping, token, { origin })).status).toBe(200);
  });
});
