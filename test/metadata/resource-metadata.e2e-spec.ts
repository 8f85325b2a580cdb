import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { IntrospectionModule, ProtectedResource, RequireAuthentication, Scopes } from '../../lib/index.js';
import { ADAPTERS, call, startApp, type AdapterName, createModuleApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../support/authorization-server.js';
import { quietLogger } from '../support/engine.js';

const ORDERS = 'https://api.example.com/orders';
const MCP = 'https://api.example.com/mcp';

@Controller('orders')
@ProtectedResource(ORDERS)
class OrdersController {
  @Get()
  list() {
    return { ok: true };
  }
}

@Controller('mcp')
@ProtectedResource(MCP)
class McpController {
  @Get()
  call() {
    return { ok: true };
  }

  @Get('admin')
  @Scopes('admin')
  admin() {
    return { ok: true };
  }
}

async function startAsync(adapter: AdapterName, as: TestAuthorizationServer, controllers: Array<new () => unknown>, prefix?: string) {
  const app = await createModuleApp(adapter, {
    imports: [
      IntrospectionModule.forRootAsync({
        useFactory: async () => ({
          issuer: as.issuer,
          allowInsecureRequests: true,
          ...CLIENTS.basic,
          resourceMetadata: [
            { resource: ORDERS, scopesSupported: ['read'], cacheMaxAgeSeconds: 60 },
            { resource: MCP, authorizationServers: ['https://other-as.example.com'], bearerMethodsSupported: ['header'] },
          ],
        }),
      }),
    ],
    controllers,
  });
  if (prefix) app.setGlobalPrefix(prefix);
  await app.listen(0, '127.0.0.1');
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}

describe.each(ADAPTERS)('Several protected resources in one app (forRootAsync, global prefix) over %s', (adapter) => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    ({ app, url } = await startAsync(adapter, as, [OrdersController, McpController], 'api'));
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
  });

  it('publishes one document per resource at its path-suffixed well-known URL, at the root despite the global prefix', async () => {
    const orders = await call(`${url}/.well-known/oauth-protected-resource/orders`);
    expect(orders.status).toBe(200);
    expect(orders.headers.get('cache-control')).toBe('public, max-age=60');
    expect(orders.body).toMatchObject({ resource: ORDERS, authorization_servers: [as.issuer], scopes_supported: ['read'] });
    const mcp = await call(`${url}/.well-known/oauth-protected-resource/mcp`);
    expect(mcp.body).toMatchObject({ resource: MCP, authorization_servers: ['https://other-as.example.com'] });
    expect((await call(`${url}/.well-known/oauth-protected-resource`)).status).toBe(404);
  });

  it("each route's challenge points at its own resource's metadata", async () => {
    expect((await call(`${url}/api/orders`)).headers.get('www-authenticate')).toBe(
      'Bearer resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/orders"',
    );
    expect((await call(`${url}/api/mcp`)).headers.get('www-authenticate')).toBe(
      'Bearer resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp"',
    );
  });

  it("a token for one resource does not open the other's routes (per-route audience)", async () => {
    const forOrders = await as.issueToken({ scope: 'read', resource: ORDERS });
    expect((await call(`${url}/api/orders`, { authorization: `Bearer ${forOrders}` })).status).toBe(200);
    const refused = await call(`${url}/api/mcp`, { authorization: `Bearer ${forOrders}` });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(refused.headers.get('www-authenticate')).toContain('/.well-known/oauth-protected-resource/mcp"');
  });

  it('a token for another resource that also lacks the scope: 401 invalid_token (the audience is checked before scopes), not 403', async () => {
    const forOrders = await as.issueToken({ scope: 'read', resource: ORDERS });
    const refused = await call(`${url}/api/mcp/admin`, { authorization: `Bearer ${forOrders}` });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(
      /^Bearer error="invalid_token", error_description="The access token is not meant for this resource \(https:\/\/api\.example\.com\/mcp\)\.", resource_metadata=".*\/mcp"$/,
    );
    const forMcp = await as.issueToken({ scope: 'read', resource: MCP });
    const noScope = await call(`${url}/api/mcp/admin`, { authorization: `Bearer ${forMcp}` });
    expect(noScope.status).toBe(403);
    expect(noScope.headers.get('www-authenticate')).toContain('error="insufficient_scope", error_description="Scopes required: admin", scope="admin"');
  });
});

describe.each(ADAPTERS)('bearer_methods_supported derived from tokenSources over %s', (adapter) => {
  const cases: Array<[string, Record<string, unknown>, Record<string, unknown>, unknown]> = [
    ['default (Authorization header)', {}, {}, ['header']],
    [
      'header, cookie and a custom header',
      { tokenSources: [{ in: 'header' }, { in: 'cookie', name: 'at' }, { in: 'header', name: 'X-Api-Token' }] },
      {},
      ['header'],
    ],
    ['a cookie only (no RFC 6750 method)', { tokenSources: [{ in: 'cookie', name: 'at' }] }, {}, []],
    ['the unsafe query source', { tokenSources: [{ in: 'header' }, { in: 'query', dangerouslyAllowTokenInUrl: true }] }, {}, ['header', 'query']],
    ['set explicitly: kept as given', { tokenSources: [{ in: 'cookie', name: 'at' }] }, { bearerMethodsSupported: ['header', 'body'] }, ['header', 'body']],
  ];
  it.each(cases)('%s', async (_what, sources, metadata, expected) => {
    const { app, url } = await startApp(
      adapter,
      {
        introspectionEndpoint: 'http://127.0.0.1:9/introspect',
        allowInsecureRequests: true,
        ...CLIENTS.basic,
        ...sources,
        resourceMetadata: { resource: ORDERS, authorizationServers: ['https://as.example.com'], ...metadata },
      },
      [],
    );
    try {
      const res = await call(`${url}/.well-known/oauth-protected-resource/orders`);
      expect(res.status).toBe(200);
      expect(res.body.bearer_methods_supported).toEqual(expected);
    } finally {
      await app.close();
    }
  });
});

describe('Route metadata that cannot work fails start-up', () => {
  let as: TestAuthorizationServer;
  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
  });
  afterAll(async () => {
    await as?.stop();
  });

  it('@ProtectedResource naming an unconfigured resource', async () => {
    @Controller('x')
    @ProtectedResource('https://api.example.com/unknown')
    class Unknown {
      @Get()
      x() {
        return {};
      }
    }
    await expect(startAsync('express', as, [Unknown])).rejects.toThrow(
      /Unknown\.x: @ProtectedResource\('https:\/\/api\.example\.com\/unknown'\) names no configured resource/,
    );
  });

  it('@RequireAuthentication on class and handler with no common acr value', async () => {
    @Controller('y')
    @RequireAuthentication({ acrValues: ['gold'] })
    class Contradiction {
      @Get()
      @RequireAuthentication({ acrValues: ['silver'] })
      y() {
        return {};
      }
    }
    await expect(startApp('fastify', { issuer: as.issuer, allowInsecureRequests: true, ...CLIENTS.basic, audience: 'x' }, [Contradiction])).rejects.toThrow(
      /share no acr value/,
    );
  });
});

describe('RFC 9728 metadata that names no authorization server', () => {
  /** Starts the module with these options; returns the start-up warnings it logged. */
  async function startupWarnings(options: Record<string, unknown>): Promise<string[]> {
    const warnings: string[] = [];
    const logger = { ...quietLogger, warn: (message: unknown) => void warnings.push(String(message)) };
    const moduleRef = await Test.createTestingModule({
      imports: [
        IntrospectionModule.forRoot({ introspectionEndpoint: 'https://as.example.com/introspect', ...CLIENTS.basic, verifyOnStartup: false, ...options }),
      ],
    })
      .setLogger(logger)
      .compile();
    await moduleRef.init();
    await moduleRef.close();
    return warnings;
  }

  it('without issuer, expectedIssuer or authorizationServers: a start-up warning that says what to set; with any of them: none', async () => {
    const warned = await startupWarnings({ resourceMetadata: [{ resource: ORDERS }, { resource: MCP, authorizationServers: ['https://as.example.com'] }] });
    const mine = warned.filter((w) => w.includes('authorization_servers'));
    expect(mine).toEqual([
      "`resourceMetadata[0]` publishes no `authorization_servers` (RFC 9728): neither `issuer`, `expectedIssuer` nor `resourceMetadata[0].authorizationServers` is set, so clients (MCP clients among them) cannot discover the authorization server that issues tokens for https://api.example.com/orders. Set `issuer` or `expectedIssuer` to its issuer identifier (e.g. 'https://sso.example.com/realms/acme'), or list it in `resourceMetadata[0].authorizationServers`.",
    ]);
    for (const fix of [
      { expectedIssuer: 'https://as.example.com' },
      { issuer: 'https://as.example.com' },
      { authorizationServers: ['https://as.example.com'] },
    ]) {
      const { authorizationServers, ...top } = fix as { authorizationServers?: string[] };
      const warnings = await startupWarnings({ ...top, resourceMetadata: { resource: ORDERS, authorizationServers } });
      expect(warnings.filter((w) => w.includes('authorization_servers'))).toEqual([]);
    }
  });
});
