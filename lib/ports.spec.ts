import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ExecutionContext } from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import { IntrospectionClient } from './client/introspection.client.js';
import { DpopProofError } from './errors/introspection.errors.js';
import { TokenGuard } from './guard/token.guard.js';
import { IntrospectionHealthIndicator } from './health/introspection.health.js';
import type { IntrospectionResult } from './interfaces/introspection-result.interface.js';
import { IntrospectionService } from './introspection.service.js';
import { resolveOptions } from './options/resolve-options.js';
import {
  providePresentation,
  registeredPresentation,
  type HealthContributor,
  type KeysHealth,
  type PresentationVerifier,
  type ProofVerifier,
  type TokenPath,
} from './ports.js';
import { ResiliencePolicy } from './resilience/resilience.policy.js';
import { IntrospectionTelemetry } from './telemetry/introspection.telemetry.js';

// Each port of lib/ports.ts with a fake on the other side: what the core asks of a capability, and what it does
// with the answers. The capabilities' own suites (test/jwt, test/dpop, …) exercise the real implementations.
let server: Server;
let endpoint: string;
let calls = 0;
beforeAll(async () => {
  // An AS that answers every introspection with plain JSON `active: true` (and counts the calls).
  server = createServer((_req, res) => {
    calls++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ active: true, scope: 'read', exp: Math.floor(Date.now() / 1000) + 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/introspect`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function engine(extra: Record<string, unknown> = {}, jwt?: TokenPath, dpop?: ProofVerifier) {
  const options = resolveOptions({ introspectionEndpoint: endpoint, clientId: 'api', clientSecret: 's', allowInsecureRequests: true, cache: false, ...extra });
  const client = new IntrospectionClient(options);
  const service = new IntrospectionService(
    options,
    null,
    new ResiliencePolicy(options.resilience),
    client,
    await new IntrospectionTelemetry(options).init(),
    jwt,
    dpop,
  );
  return { options, client, service };
}

describe('TokenPath: tokens a capability handles take its path, and evictions reach it', () => {
  const active: IntrospectionResult = Object.freeze({ active: true, scopes: Object.freeze([]) });
  const revoked: string[] = [];
  const path: TokenPath = {
    handles: (token) => token.startsWith('path.'),
    resolve: async () => ({ result: active, source: 'jwt' }),
    signedClaims: async () => undefined,
    revoke: async (token) => (revoked.push(`token:${token}`), true),
    revokeBy: async (claim, value) => void revoked.push(`${claim}:${value}`),
    revokeSessionless: async (sub) => void revoked.push(`sessionless:${sub}`),
  };

  it('a token it handles is answered by the path, without a call to the authorization server; others are introspected', async () => {
    const { service } = await engine({}, path);
    const before = calls;
    expect(await service.introspect('path.token')).toBe(active);
    expect(calls).toBe(before);
    expect((await service.introspect('opaque-token')).active).toBe(true);
    expect(calls).toBe(before + 1);
  });

  it('evict(), evictBySubject(), evictByClientId(), evictBySession() and evictByJti() reach the path', async () => {
    const { service } = await engine({}, path);
    revoked.length = 0;
    await service.evict('path.token');
    await service.evictBySubject('alice');
    await service.evictByClientId('app');
    await service.evictBySession('sid-1', { sub: 'bob' });
    await service.evictByJti('jti-1');
    expect(revoked).toEqual(['token:path.token', 'sub:alice', 'client_id:app', 'sid:sid-1', 'sessionless:bob', 'jti:jti-1']);
  });
});

describe('ProofVerifier and PresentationVerifier: the DPoP scheme reaches the guard through the engine it is given', () => {
  const seen: string[] = [];
  const presentation: PresentationVerifier = {
    verify: async (_request, token, target) => {
      seen.push(`verify ${target.uri()} ${token}`);
      throw new DpopProofError('use_dpop_nonce', 'Use the nonce.');
    },
    consume: async () => undefined,
    refusal: (error) => ({
      error: (error as DpopProofError).error,
      description: (error as Error).message,
      headers: { 'DPoP-Nonce': 'n-1' },
      unexpected: false,
    }),
  };
  const proofs: ProofVerifier = {
    verify: async () => ({ jkt: 'k', jti: 'j', iat: 0 }),
    consume: async () => undefined,
    currentNonce: () => 'n-1',
  };

  function httpContext(headers: Record<string, string>, sent: Record<string, unknown>): ExecutionContext {
    class Orders {
      list() {}
    }
    const request = { method: 'GET', url: '/orders', headers, rawHeaders: Object.entries(headers).flat() };
    const response = { header: (name: string, value: unknown) => void (sent[name] = value) };
    return {
      getType: () => 'http',
      getHandler: () => Orders.prototype.list,
      getClass: () => Orders,
      getArgs: () => [request, response],
      switchToHttp: () => ({ getRequest: () => request, getResponse: () => response }),
    } as unknown as ExecutionContext;
  }

  it('an Authorization: DPoP request is verified by the capability, and its refusal is answered 401 with its headers', async () => {
    const { service, options } = await engine({}, undefined, proofs);
    // The registered HTTP side is built on the engine's proof methods.
    let builtOn: ProofVerifier | undefined;
    const registered = registeredPresentation();
    providePresentation((engineProofs) => ((builtOn = engineProofs), presentation));
    const guard = new TokenGuard(new Reflector(), service, options);
    providePresentation(registered!);
    await expect(builtOn!.verify('p', { method: 'GET', uri: 'https://x/', accessToken: 't' })).resolves.toEqual({ jkt: 'k', jti: 'j', iat: 0 });
    expect(builtOn!.currentNonce()).toBe('n-1');
    const sent: Record<string, unknown> = {};
    const refused = await Promise.resolve(guard.canActivate(httpContext({ host: 'api.example.com', authorization: 'DPoP tok', dpop: 'proof' }, sent))).catch(
      (e: unknown) => e,
    );
    expect((refused as { getStatus(): number }).getStatus()).toBe(401);
    expect(seen).toEqual(['verify http://api.example.com/orders tok']);
    expect(sent['DPoP-Nonce']).toBe('n-1');
    expect(String(sent['WWW-Authenticate'])).toMatch(/^DPoP .*error="use_dpop_nonce"/);
  });

  it('the engine delegates verifyDpopProof(), consumeDpopProof() and dpopNonce to it', async () => {
    const { service } = await engine({}, undefined, proofs);
    await expect(service.verifyDpopProof('p', { method: 'GET', uri: 'https://x/', accessToken: 't' })).resolves.toEqual({ jkt: 'k', jti: 'j', iat: 0 });
    expect(service.dpopNonce).toBe('n-1');
    const { service: off } = await engine();
    await expect(off.verifyDpopProof('p', { method: 'GET', uri: 'https://x/', accessToken: 't' })).rejects.toBeInstanceOf(DpopProofError);
  });
});

describe('ResponseOpener: with signedIntrospection on, an answer is read by the opener or not at all', () => {
  it('without an attached opener the client refuses the plain JSON answer (fails closed)', async () => {
    const { client } = await engine({
      signedIntrospection: { mode: 'prefer' },
      expectedIssuer: 'https://as.example.com',
      jwt: { mode: 'introspect', jwksUri: 'https://as.example.com/jwks' },
    });
    await expect(client.introspect('t')).rejects.toMatchObject({ reason: 'unexpected_error' });
  });

  it('an attached opener reads the answer', async () => {
    const { client } = await engine({
      signedIntrospection: { mode: 'prefer' },
      expectedIssuer: 'https://as.example.com',
      jwt: { mode: 'introspect', jwksUri: 'https://as.example.com/jwks' },
    });
    client.responseOpener = { accept: 'application/token-introspection+jwt', open: async () => ({ active: false }) };
    await expect(client.introspect('t')).resolves.toEqual({ active: false });
  });
});

describe('HealthContributor: the readiness check reports the contributor beside the introspection endpoint', () => {
  it("a contributor that is down (after its refresh failed) makes the AS 'down' with its state", async () => {
    let refreshed = 0;
    const keys: HealthContributor = {
      health: (): KeysHealth => ({ status: 'down', reason: 'keys_unavailable' }),
      refresh: async () => void refreshed++,
    };
    const options = resolveOptions({ introspectionEndpoint: endpoint, clientId: 'api', clientSecret: 's', allowInsecureRequests: true });
    const health = new IntrospectionHealthIndicator(options, new IntrospectionClient(options), new ResiliencePolicy(options.resilience), {} as ModuleRef, keys);
    const probe = await health.probe();
    expect(refreshed).toBe(1);
    expect(probe.status).toBe('down');
    expect(probe.keys).toEqual({ status: 'down', reason: 'keys_unavailable' });
  });
});
