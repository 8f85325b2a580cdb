// Adversarial review of the RFC 9728 metadata routes (round 17a; was attack17a-metadata).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { request as httpRequest } from 'node:http';
import { IntrospectionModule, Public, Roles, Scopes, type IntrospectionModuleOptions } from '../../../lib/index.js';
import { ADAPTERS, type AdapterName, createModuleApp } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../../support/authorization-server.js';

@Controller('orders')
@Scopes('read')
class OrdersController {
  @Get()
  list() {
    return { ok: true };
  }
}

/** An SPA-style fallback (public) and a guarded catch-all (a proxy to a legacy backend): common in Nest apps. */
function catchAlls(adapter: AdapterName) {
  // Express 5 needs a named wildcard, Fastify takes '*'.
  const path = adapter === 'fastify' ? '*' : '*path';
  @Controller()
  class FallbackController {
    @Public()
    @Get(path)
    fallback() {
      return '<html>index</html>';
    }
  }
  @Controller()
  @Roles('proxy-user')
  class GuardedCatchAllController {
    @Get(path)
    proxy() {
      return { proxied: true };
    }
  }
  return { FallbackController, GuardedCatchAllController };
}

async function start(
  adapter: AdapterName,
  as: TestAuthorizationServer,
  extra: Partial<IntrospectionModuleOptions>,
  controllers: Array<new () => unknown> = [OrdersController],
) {
  const app = await createModuleApp(adapter, {
    imports: [IntrospectionModule.forRoot({ issuer: as.issuer, allowInsecureRequests: true, ...CLIENTS.basic, ...extra })],
    controllers,
  });
  await app.listen(0, '127.0.0.1');
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}

/** A raw request (no client-side path normalization). */
function raw(
  url: string,
  path: string,
  method = 'GET',
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.each(ADAPTERS)('RFC 9728 metadata routes beside catch-alls and unusual resource paths over %s', (adapter) => {
  let as: TestAuthorizationServer;
  const apps: INestApplication[] = [];
  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
  });
  afterAll(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    await as?.stop();
  });
  const boot = async (extra: Partial<IntrospectionModuleOptions>, controllers?: Array<new () => unknown>) => {
    const started = await start(adapter, as, extra, controllers);
    apps.push(started.app);
    return started.url;
  };

  // ATTACK (Express): the metadata route is added in onModuleInit, after Nest registered the app's routes, so any
  // app catch-all wins: MCP clients get the SPA page (or a 401 pointing at itself) instead of the document.
  it('a public SPA fallback route does not swallow the metadata document', async () => {
    const url = await boot({ resourceMetadata: { resource: 'https://api.example.com/mcp' } }, [OrdersController, catchAlls(adapter).FallbackController]);
    const res = await raw(url, '/.well-known/oauth-protected-resource/mcp');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ resource: 'https://api.example.com/mcp' });
  });

  it('a guarded catch-all does not turn the metadata into a 401 whose resource_metadata points at itself', async () => {
    const url = await boot({ resourceMetadata: { resource: 'https://api.example.com/mcp' } }, [OrdersController, catchAlls(adapter).GuardedCatchAllController]);
    const res = await raw(url, '/.well-known/oauth-protected-resource/mcp');
    expect(res.status).toBe(200);
  });

  // ATTACK: path-to-regexp / find-my-way syntax in the resource path. Start-up either crashes with a router error
  // that names no option, or the route becomes a pattern.
  it.each([
    ['https://api.example.com/tools(v2)', '/.well-known/oauth-protected-resource/tools(v2)'],
    ['https://api.example.com/a*b', '/.well-known/oauth-protected-resource/a*b'],
    ['https://api.example.com/v1:beta', '/.well-known/oauth-protected-resource/v1:beta'],
  ])('resource %s — starts and serves its document at exactly %s', async (resource, path) => {
    let url: string | undefined;
    let error: unknown;
    try {
      url = await boot({ resourceMetadata: { resource } });
    } catch (e) {
      error = e;
    }
    if (error) {
      // Acceptable only as a clear start-up error naming the option.
      expect(String((error as Error).message)).toContain('resourceMetadata');
      return;
    }
    const res = await raw(url!, path);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).resource).toBe(resource);
    // and the route is no pattern: a sibling path is not the document
    const sibling = await raw(url!, path.replace(/[:(*].*$/, '') + 'Xzz');
    expect(sibling.status).not.toBe(200);
  });

  it('a resource with a percent-encoded path (non-ASCII, space) serves its document at the URL its challenges name', async () => {
    const resource = 'https://api.example.com/caf%C3%A9 tools';
    const url = await boot({ resourceMetadata: { resource } });
    // the challenge's URL: protectedResourceMetadataUrl → /.well-known/oauth-protected-resource/caf%C3%A9%20tools
    const challenge = String((await raw(url, '/orders')).headers['www-authenticate']);
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)![1];
    const res = await raw(url, new URL(metadataUrl).pathname);
    expect(res.status).toBe(200);
  });

  describe('one app serving the metadata', () => {
    let url: string;
    beforeAll(async () => {
      url = await boot({ resourceMetadata: { resource: 'https://api.example.com/mcp', scopesSupported: ['read'] } });
    });

    it('served without a token, JSON, cache headers', async () => {
      const res = await raw(url, '/.well-known/oauth-protected-resource/mcp');
      expect(res.status).toBe(200);
      expect(String(res.headers['content-type'])).toContain('application/json');
      expect(res.headers['cache-control']).toBe('public, max-age=3600');
    });

    it('HEAD answers 200 without a body; a query string is ignored', async () => {
      expect((await raw(url, '/.well-known/oauth-protected-resource/mcp', 'HEAD')).status).toBe(200);
      expect((await raw(url, '/.well-known/oauth-protected-resource/mcp?x=%22&resource=https://evil')).body).not.toContain('evil');
    });

    it('traversal and encoded traversal never reach another document nor a 500', async () => {
      for (const path of [
        '/.well-known/oauth-protected-resource/../orders',
        '/.well-known/oauth-protected-resource/%2e%2e/orders',
        '/.well-known/oauth-protected-resource/mcp/..',
        '/.well-known/oauth-protected-resource/mcp%2f..',
        '/.well-known/oauth-protected-resource/%',
        '/.well-known/oauth-protected-resource/mcp%00',
      ]) {
        const res = await raw(url, path);
        expect(res.status).toBeLessThan(500);
        expect(res.body).not.toContain('"ok":true');
      }
    });

    it('every 401/403/400 challenge carries resource_metadata', async () => {
      const missing = await raw(url, '/orders');
      expect(missing.headers['www-authenticate']).toContain('resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp"');
      const malformed = await raw(url, '/orders', 'GET', { authorization: 'Bearer a b' });
      expect(malformed.status).toBe(400);
      expect(malformed.headers['www-authenticate']).toContain('resource_metadata=');
      const noScope = await raw(url, '/orders', 'GET', {
        authorization: `Bearer ${await as.issueToken({ scope: 'write', resource: 'https://api.example.com/mcp' })}`,
      });
      expect(noScope.status).toBe(403);
      expect(noScope.headers['www-authenticate']).toContain('resource_metadata=');
    });

    it('a token without aud (no resource indicator) is 401 under the default audience', async () => {
      const res = await raw(url, '/orders', 'GET', { authorization: `Bearer ${await as.issueToken({ scope: 'read' })}` });
      expect(res.status).toBe(401);
    });
  });
});
