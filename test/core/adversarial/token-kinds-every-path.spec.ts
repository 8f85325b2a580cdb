// Adversarial review of token kinds in introspection answers (round 10; was attack-token-kinds).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { IntrospectionModuleOptions } from '../../../lib/index.js';
import { CLIENTS } from '../../support/authorization-server.js';
import { createEngine, sleep } from '../../support/engine.js';
import { behave, FaultyServer } from '../../support/faulty-server.js';
import { itWithRedis, TestRedis } from '../../support/redis-server.js';

/**
 * Review 10 attacks on token kinds: shapes of real-world introspection answers, over real HTTP.
 * The answer for a token is chosen by the token string itself (`kind:<json>`).
 */
describe('token kinds through every path', () => {
  let server: FaultyServer;
  const closers: Array<() => Promise<unknown>> = [];
  const exp = () => Math.floor(Date.now() / 1000) + 600;
  beforeAll(async () => {
    server = await FaultyServer.start((req, res, body) => {
      const token = decodeURIComponent(new URLSearchParams(body).get('token') ?? '');
      const extra = JSON.parse(token.slice(token.indexOf(':') + 1));
      return behave.json({ active: true, sub: 'alice', scope: 'read', exp: exp(), ...extra })(req, res, body);
    });
  });
  afterAll(async () => {
    for (const c of closers) await c();
    await server.stop();
  });
  const engine = async (extra: Partial<IntrospectionModuleOptions> = {}) => {
    const e = await createEngine({ introspectionEndpoint: server.url, allowInsecureRequests: true, ...CLIENTS.basic, ...extra });
    closers.push(e.close);
    return e.service;
  };
  const t = (name: string, extra: object) => `${name}:${JSON.stringify(extra)}`;

  it.each([
    ['refresh (RFC 7662 style)', { token_type: 'refresh_token' }],
    ['refresh, upper case', { token_type: 'REFRESH_TOKEN' }],
    ['refresh URN', { token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }],
    ['ID token URN', { token_type: 'urn:ietf:params:oauth:token-type:id_token' }],
    ['Hydra refresh', { token_type: 'Bearer', token_use: 'refresh_token' }],
    ['Keycloak refresh', { typ: 'Refresh' }],
    ['Keycloak offline', { typ: 'Offline' }],
    ['Keycloak ID', { typ: 'ID' }],
    ['DPoP', { token_type: 'DPoP', cnf: { jkt: 'x' } }],
    ['dpop lower case, no cnf', { token_type: 'dpop' }],
    ['bearer with cnf jkt', { token_type: 'Bearer', cnf: { jkt: 'x' } }],
    ['cnf x5t#S256', { cnf: { 'x5t#S256': 'x' } }],
    ['cnf null', { token_type: 'Bearer', cnf: null }],
    ['cnf empty object', { token_type: 'Bearer', cnf: {} }],
    ['MAC (RFC 6749 example)', { token_type: 'mac' }],
  ])('refused as a bearer token: %s', async (_name, extra) => {
    const service = await engine();
    const result = await service.introspect(t(_name, extra));
    expect(result.active).toBe(false);
  });

  it.each([
    ['Okta / Spring / Ping', { token_type: 'Bearer' }],
    ['Curity', { token_type: 'bearer' }],
    ['Glewlwyd', { token_type: 'access_token' }],
    ['Hydra', { token_type: 'Bearer', token_use: 'access_token' }],
    ['Keycloak', { token_type: 'Bearer', typ: 'Bearer' }],
    ['no token_type (oidc-provider style)', {}],
  ])('accepted: ordinary access token from %s', async (_name, extra) => {
    const service = await engine();
    expect((await service.introspect(t(_name, extra))).active).toBe(true);
  });

  itWithRedis('a lax replica (no requireTokenType, no audience) caches a typeless token in Redis; a strict replica does not accept it from there', async () => {
    const redis = await TestRedis.start();
    closers.push(() => redis.kill());
    const cache = { redis: redis.url, keyPrefix: 'kinds-policy' };
    const lax = await engine({ cache });
    const strict = await engine({ cache, requireTokenType: true });
    await sleep(500);
    const token = t('typeless', { client_id: 'c' });
    expect((await lax.introspect(token)).active).toBe(true);
    await sleep(200);
    const before = server.requests;
    expect(await strict.introspect(token)).toEqual({ active: false, reason: 'not_access_token' });
    expect(server.requests).toBe(before); // answered from the shared tier, re-validated under the strict policy
  });
});
