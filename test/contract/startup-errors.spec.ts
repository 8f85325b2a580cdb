/**
 * Start-up message contract (issue 24 safety net): the text of every feature's start-up error, and the
 * warnings of a valid configuration with every feature on, pinned in
 * test/contract/__fixtures__/startup-errors.json. Everything goes through module start-up
 * (`IntrospectionModule.forRoot()`, compile + init), the way users meet these messages. The options
 * resolver reports all its problems at once: one options object with a mistake in every feature it
 * checks gives one error. Phantom, outbound and the push/webhook routes are checked by their own
 * providers and controllers, which stop at their first problem: one case each.
 * An intended change of wording or order: `npm run contract:update`, and review the fixture's diff.
 */
import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import Keyv from 'keyv';
import { describe, expect, it } from '@jest/globals';
import { IntrospectionModule, RoleMappers, type IntrospectionModuleOptions } from '../../lib/index.js';
import { quietLogger } from '../support/engine.js';
import { jsonFixture } from './fixture.js';

const fixture = jsonFixture(new URL('./__fixtures__/startup-errors.json', import.meta.url));
type ModuleExtras = Parameters<typeof IntrospectionModule.forRoot>[0];

/** Valid options that need no server at start-up (nothing is fetched before the first request). */
const BASE: IntrospectionModuleOptions = {
  introspectionEndpoint: 'https://as.example.com/oauth2/introspect',
  clientId: 'orders-api',
  clientSecret: 'orders-api-secret',
  verifyOnStartup: false,
};
const BCL = { issuer: 'https://as.example.com', jwksUri: 'https://as.example.com/jwks' };

/** Starts the module (providers, then init hooks); resolves to the error's lines, or fails when start-up succeeds. */
async function startupError(options: ModuleExtras): Promise<string[]> {
  let moduleRef;
  try {
    moduleRef = await Test.createTestingModule({ imports: [IntrospectionModule.forRoot(options)] })
      .setLogger(quietLogger)
      .compile();
    await moduleRef.init();
  } catch (error) {
    const { name, message } = error as Error;
    return `${name}: ${message}`.split('\n');
  } finally {
    await moduleRef?.close();
  }
  throw new Error('start-up succeeded: expected a configuration error');
}

describe('start-up errors and warnings, every feature (test/contract/__fixtures__/startup-errors.json)', () => {
  it('one mistake in every option group the resolver checks: one error listing them all, in order', async () => {
    const lines = await startupError({
      // core
      issuer: 'https://as.example.com',
      introspectionEndpoint: 'http://as.example.com/oauth2/introspect',
      clientId: 'orders-api',
      clientSecret: 'orders-api-secret',
      clientAuthMethod: 'client_secret_jwt' as never,
      outagePolicy: 'fail-silently' as never,
      audience: [''],
      maxTokenLength: 8,
      realm: 'say "hi"',
      verifyOnStartup: 'sometimes' as never,
      // cache, resilience, health, telemetry
      cache: { keyPrefix: 'orders *', revalidation: { maxConcurrent: 0 } },
      resilience: { retries: 11, deadlineMs: 100, attemptTimeoutMs: 1000 },
      health: { probeTimeoutMs: 0 },
      events: { onTokenValidated: 'log it' as never },
      metrics: { meterProvider: {} },
      // revocation webhook
      revocationWebhookSecret: 'short',
      // token sources, connections
      tokenSources: [{ in: 'body' } as never],
      websocket: { allowedOrigins: ['app.example.com'] },
      microservice: { token: { in: 'payload', field: '' } },
      // JWT access tokens, signed introspection
      jwt: { mode: 'local-only' as never, algorithms: ['HS256'] },
      signedIntrospection: { mode: 'always' as never },
      // DPoP, mTLS
      dpop: { algorithms: ['none'], externalOrigin: 'https://api.example.com/orders', nonce: { secret: 'too-short' } },
      mtls: { certificateHeader: 'x client cert' },
      // RFC 9728 metadata
      resourceMetadata: { resource: 'http://api.example.com/orders' },
      // roles
      roles: { mapper: [] },
      // push receivers
      securityEvents: { issuer: '', audience: 'https://api.example.com', jwksUri: 'http://ssf.example.com/jwks' },
      backchannelLogout: { jwksUri: 'http://op.example.com/jwks' },
    });
    fixture.check('resolver: every option group wrong at once', lines);
  });

  it.each<[string, ModuleExtras]>([
    ['core: no endpoint, no client id', { clientId: '' }],
    ['phantom: issuer and audiences', { ...BASE, phantom: { issuer: 'orders', audiences: [], lifetimeSeconds: 7200, claims: ['sub'] } }],
    ['outbound: one backend wrong', { ...BASE, outbound: { billing: { tokenEndpoint: 'http://as.example.com/token', clientId: '' } } }],
    ['revocation webhook: no secret', { ...BASE, revocationWebhook: { path: 'internal/revocations', scope: 'this-replica' } }],
    [
      'revocation webhook: all replicas without cache.redis',
      { ...BASE, revocationWebhookSecret: 'a-webhook-secret-for-the-tests', revocationWebhook: { path: 'internal/revocations' } },
    ],
    ['security event receiver: without the securityEvents option', { ...BASE, securityEventReceiver: { path: 'ssf/events', scope: 'this-replica' } }],
    ['security event receiver: unknown scope', { ...BASE, securityEventReceiver: { path: 'ssf/events', scope: 'everywhere' as never } }],
    [
      'back-channel logout receiver: the cache is off',
      {
        ...BASE,
        cache: false,
        backchannelLogout: BCL,
        backchannelLogoutReceiver: { path: 'oidc/backchannel-logout', scope: 'this-replica' },
      },
    ],
    ['back-channel logout receiver: no route', { ...BASE, backchannelLogout: BCL, backchannelLogoutReceiver: { path: '/' } }],
    [
      'tenants: a top-level issuer, a bad name, a tenant without a client, a prefix naming no tenant',
      {
        issuer: 'https://as.example.com',
        tenants: { Acme: { issuer: 'https://a.example.com', clientId: 'api' }, b: { issuer: 'https://b.example.com' } as never },
        tenantResolver: { pathPrefix: { '/c/': 'c' } },
      },
    ],
  ])('%s', async (name, options) => {
    fixture.check(name, await startupError(options));
  });

  it('a valid configuration with every feature on: its start-up warnings', async () => {
    const warnings: string[] = [];
    const logger = { ...quietLogger, warn: (message: unknown, context?: unknown) => void warnings.push(`[${String(context)}] ${String(message)}`) };
    const moduleRef = await Test.createTestingModule({
      imports: [
        IntrospectionModule.forRoot({
          issuer: 'https://as.example.com',
          clientId: 'orders-api',
          clientSecret: 'orders-api-secret',
          verifyOnStartup: false,
          tokenSources: [{ in: 'header' }, { in: 'cookie', name: 'access_token' }],
          websocket: { recheckIntervalSeconds: 30 },
          microservice: { token: { in: 'payload', field: 'accessToken' } },
          cache: { ttlSeconds: 60, localTtlSeconds: 5, store: new Keyv() },
          jwt: { mode: 'local-then-introspect' },
          signedIntrospection: { mode: 'prefer' },
          dpop: { nonce: true },
          mtls: { certificateHeader: 'x-client-cert' },
          resourceMetadata: [{ resource: 'https://api.example.com/orders' }],
          roles: { mapper: RoleMappers.roles() },
          securityEvents: { issuer: 'https://ssf.example.com', audience: 'https://api.example.com', jwksUri: 'https://ssf.example.com/jwks' },
          backchannelLogout: {},
          revocationWebhookSecret: 'a-webhook-secret-for-the-tests',
          phantom: { issuer: 'https://api.example.com', audiences: ['https://orders.internal'], lifetimeSeconds: 300, rotationOverlapSeconds: 60 },
          outbound: { billing: { tokenEndpoint: 'https://as.example.com/token', clientId: 'orders-api', clientSecret: 'orders-api-secret' } },
        }),
      ],
    })
      .setLogger(logger)
      .compile();
    await moduleRef.close();
    expect(warnings.length).toBeGreaterThan(0);
    // Sorted: the options' warnings and the providers' own come from several providers, whose creation order is no contract.
    fixture.check('warnings: every feature on', warnings.sort());
  });
});
