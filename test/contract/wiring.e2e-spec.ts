/**
 * Wiring contract (issue 24 safety net): `IntrospectionModule.forRoot()` with every feature on (all but
 * `cache.redis`), booted against the in-repo authorization server over Express and Fastify. The module's
 * providers, exports and controllers, and the HTTP route table in registration order, are compared with
 * test/contract/__fixtures__/wiring.json. A redesign that must not change behaviour keeps this file as is;
 * an intended change: `npm run contract:update` and review the fixture's diff.
 */
import 'reflect-metadata';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { IntrospectionModule, Public, RoleMappers, Scopes, type IntrospectionModuleOptions } from '../../lib/index.js';
import { CLIENTS, TestAuthorizationServer } from '../support/authorization-server.js';
import { ADAPTERS, type AdapterName, createModuleApp } from '../support/app.js';
import { jsonFixture } from './fixture.js';

const fixture = jsonFixture(new URL('./__fixtures__/wiring.json', import.meta.url));
const API = 'https://api.example.com';

/** Every option of every feature, switched on (the shared Redis tier left out: receivers use `scope: 'this-replica'`). */
function everyFeature(as: TestAuthorizationServer): IntrospectionModuleOptions {
  return {
    issuer: as.issuer,
    ...CLIENTS.signed,
    allowInsecureRequests: true,
    verifyOnStartup: false,
    requireTokenType: true,
    realm: 'orders',
    tokenSources: [{ in: 'header' }, { in: 'cookie', name: 'access_token' }],
    websocket: { recheckIntervalSeconds: 30, allowedOrigins: ['https://app.example.com'] },
    microservice: { token: { in: 'payload', field: 'accessToken' } },
    cache: { ttlSeconds: 60, revalidation: { recheckFraction: 0.1 } },
    resilience: { retries: 1 },
    jwt: { mode: 'local-then-introspect' },
    signedIntrospection: { mode: 'prefer' },
    dpop: { externalOrigin: API, nonce: { secret: 'a-dpop-nonce-secret-for-the-tests' } },
    mtls: { certificateHeader: 'x-client-cert' },
    resourceMetadata: [
      { resource: `${API}/orders`, scopesSupported: ['read'] },
      { resource: `${API}/mcp`, bearerMethodsSupported: ['header'] },
    ],
    roles: { mapper: [RoleMappers.roles(), RoleMappers.keycloakRealm()] },
    securityEvents: { issuer: 'https://ssf.example.com', audience: API, jwksUri: as.jwksUri, keysRefreshIntervalSeconds: 0 },
    backchannelLogout: { audience: CLIENTS.web.clientId },
    revocationWebhookSecret: 'a-webhook-secret-for-the-tests',
    phantom: { issuer: API, audiences: ['https://orders.internal'] },
    outbound: { billing: { tokenEndpoint: as.tokenEndpoint, ...CLIENTS.app, origins: 'https://billing.internal' } },
    events: { onTokenValidated: () => undefined },
  };
}

@Controller('orders')
@Scopes('read')
class OrdersController {
  @Get()
  list() {
    return { orders: [] };
  }
}

/** An app-wide catch-all: the RFC 9728 metadata documents must still be served (their routes go first). */
function catchAllController(adapter: AdapterName) {
  // Express 5 needs a named wildcard, Fastify takes '*'.
  @Controller()
  class CatchAllController {
    @Public()
    @Get(adapter === 'fastify' ? '*' : '*path')
    any() {
      return { catchAll: true };
    }
  }
  return CatchAllController;
}

const ROUTE_METHODS = ['get', 'post', 'put', 'delete', 'patch', 'options', 'head', 'all', 'search'] as const;

/**
 * Records the HTTP adapter's route and middleware registrations in order. A middleware is named by its
 * function and, when registered from lib/, by the class that registered it (e.g. the metadata publisher).
 */
function recordRegistrations(adapter: Record<string, unknown>): string[] {
  const table: string[] = [];
  for (const method of ROUTE_METHODS) {
    const original = adapter[method];
    if (typeof original !== 'function') continue;
    adapter[method] = function (this: unknown, ...args: unknown[]) {
      table.push(`${method.toUpperCase()} ${typeof args[0] === 'string' ? args[0] : '(no path)'}`);
      return original.apply(this, args);
    };
  }
  const use = adapter.use as (...args: unknown[]) => unknown;
  adapter.use = function (this: unknown, ...args: unknown[]) {
    const path = typeof args[0] === 'string' ? ` ${args[0]}` : '';
    const handler = args.find((arg) => typeof arg === 'function') as { name?: string } | undefined;
    const frame = new Error().stack
      ?.split('\n')
      .slice(2)
      .find((line) => line.includes('/lib/') && !line.includes('node_modules'));
    // The class only: source-mapped method names in these frames are not reliable.
    const caller = frame?.match(/at (?:async )?([\w$]+)[. ]/)?.[1];
    table.push(`USE${path} ${handler?.name || '(anonymous)'}${caller ? ` from ${caller}` : ''}`);
    return use.apply(this, args);
  };
  return table;
}

/** A provider token as text: class names, strings, symbols; Nest's generated enhancer ids without their UUID. */
function tokenName(token: unknown): string {
  const name = typeof token === 'function' ? token.name : String(token);
  return name.replace(/ \(UUID: [^)]*\)/, '');
}

describe.each(ADAPTERS)('wiring with every feature on over %s (test/contract/__fixtures__/wiring.json)', (adapterName: AdapterName) => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let routes: string[];
  let url: string;

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    app = await createModuleApp(adapterName, {
      imports: [
        IntrospectionModule.forRoot({
          ...everyFeature(as),
          revocationWebhook: { path: 'internal/revocations', scope: 'this-replica' },
          phantomJwksPath: '.well-known/phantom-jwks.json',
          securityEventReceiver: { path: 'ssf/events', scope: 'this-replica' },
          backchannelLogoutReceiver: { path: 'oidc/backchannel-logout', scope: 'this-replica' },
        }),
      ],
      controllers: [OrdersController, catchAllController(adapterName)],
    });
    routes = recordRegistrations(app.getHttpAdapter() as unknown as Record<string, unknown>);
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
  });

  it('the module registers the recorded providers, exports and controllers', () => {
    const modules = [...app.get(ModulesContainer).values()].filter((module) => module.metatype === IntrospectionModule);
    expect(modules).toHaveLength(1);
    const [module] = modules;
    fixture.check('module', {
      global: module.isGlobal,
      providers: [...module.providers.keys()].map(tokenName).sort(),
      exports: [...module.exports].map(tokenName).sort(),
      controllers: [...module.controllers.keys()].map(tokenName),
    });
  });

  it('the HTTP routes and middleware are registered in the recorded order (RFC 9728 metadata before the app)', () => {
    fixture.check(`routes.${adapterName}`, routes);
  });

  it('a metadata document is served although the app has a catch-all route', async () => {
    const res = await fetch(`${url}/.well-known/oauth-protected-resource/orders`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { resource?: string }).resource).toBe(`${API}/orders`);
    const other = await fetch(`${url}/anything/else`);
    expect(await other.json()).toEqual({ catchAll: true });
  });
});
