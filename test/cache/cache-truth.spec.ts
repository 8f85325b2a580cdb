import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPair, exportJWK } from 'jose';
import { AuthorizationServerUnavailableError, type IntrospectionModuleOptions } from '../../lib/index.js';
import { TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { capturedLogs, createEngine, sleep } from '../support/engine.js';
import { behave, FaultyServer, type Behaviour } from '../support/faulty-server.js';

/**
 * Issue 10 (hardening I), engine level: what the authorization server said last is what counts.
 * Real oidc-provider and real misbehaving HTTP servers on 127.0.0.1; nothing mocked.
 */
describe('cache truth and token kinds (real authorization servers)', () => {
  let as: TestAuthorizationServer;
  const closers: Array<() => Promise<unknown>> = [];
  const engine = async (extra: Partial<IntrospectionModuleOptions> = {}) => {
    const e = await createEngine({
      ...introspectionAt(as),
      ...extra,
    });
    closers.push(e.close);
    return e.service;
  };
  const servers: FaultyServer[] = [];
  const faulty = async (behaviour: Behaviour) => {
    const server = await FaultyServer.start(behaviour);
    servers.push(server);
    return server;
  };

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
  });
  afterAll(async () => {
    for (const close of closers) await close();
    for (const server of servers) await server.stop();
    await as.stop();
  });

  describe('an inactive answer replaces a cached active one (defect 1)', () => {
    it('a revoked token is not served stale after the AS said inactive, and its rejection is cached', async () => {
      const service = await engine({
        cache: { ttlSeconds: 1, staleIfErrorSeconds: 300, negativeTtlSeconds: 1 },
        outagePolicy: 'serve-stale',
        resilience: { retries: 0, circuitBreaker: false },
      });
      const token = await as.issueToken({ scope: 'read' });
      expect((await service.introspect(token)).active).toBe(true);
      await as.revoke(token);
      await sleep(1100); // freshness over; the active entry is still kept for serve-stale
      as.resetCounters();
      expect(await service.introspect(token)).toEqual({ active: false, reason: 'inactive' });
      // The rejection is now the token's record: no AS call while it lasts.
      for (let i = 0; i < 5; i++) expect((await service.introspect(token)).active).toBe(false);
      expect(as.introspectionRequests).toBe(1);
      // The AS goes down after the negative TTL: the revoked token must not come back as stale.
      await sleep(1100);
      await as.stop();
      try {
        await expect(service.introspect(token)).rejects.toBeInstanceOf(AuthorizationServerUnavailableError);
      } finally {
        await as.restart();
      }
    });
  });

  describe('evict() wins over lookups already in flight (defect 2)', () => {
    it('a request after evict() does not join the earlier lookup, and the earlier answer is not cached', async () => {
      let revoked = false;
      const server = await faulty((req, res, body) => {
        const answer = revoked ? { active: false } : { active: true, scope: 'read', token_type: 'Bearer', exp: Math.floor(Date.now() / 1000) + 600 };
        // The first (pre-revocation) answer is slow: the eviction lands while it is in flight.
        return behave.delay(revoked ? 0 : 400, behave.json(answer))(req, res, body);
      });
      const service = await engine({ introspectionEndpoint: server.url, cache: { negativeTtlSeconds: 0 } });
      const early = service.introspect('token-racing-an-eviction');
      await sleep(100);
      revoked = true;
      await service.evict('token-racing-an-eviction');
      const late = await service.introspect('token-racing-an-eviction');
      expect(late).toEqual({ active: false, reason: 'inactive' }); // did not join the pre-eviction lookup
      expect((await early).active).toBe(true); // its own waiters still get the answer they asked for
      expect(server.requests).toBe(2);
      // Nothing the pre-eviction lookup learned was cached: the next request asks the AS again.
      expect(await service.introspect('token-racing-an-eviction')).toEqual({ active: false, reason: 'inactive' });
      expect(server.requests).toBe(3);
    });

    it('purge() detaches every lookup in flight', async () => {
      const server = await faulty(behave.delay(300, behave.json({ active: true, token_type: 'Bearer', exp: Math.floor(Date.now() / 1000) + 600 })));
      const service = await engine({ introspectionEndpoint: server.url });
      const early = service.introspect('token-racing-a-purge');
      await sleep(50);
      await service.purge();
      await early;
      await service.introspect('token-racing-a-purge');
      expect(server.requests).toBe(2);
    });
  });

  describe('only access tokens are accepted (defect 3)', () => {
    it('a real oidc-provider refresh token passes by default (documented), is refused with requireTokenType or an audience, and the start-up warns', async () => {
      const refresh = await as.issueRefreshToken('alice');
      capturedLogs.length = 0;
      const lax = await engine();
      expect(capturedLogs.some((l) => l.includes('Neither `audience` nor `requireTokenType` is set'))).toBe(true);
      expect(await lax.introspect(refresh)).toMatchObject({ active: true, sub: 'alice' });
      const strict = await engine({ requireTokenType: true });
      expect(await strict.introspect(refresh)).toEqual({ active: false, reason: 'not_access_token' });
      expect((await strict.introspect(await as.issueToken({ scope: 'read' }))).active).toBe(true); // access tokens carry token_type Bearer
      const withAudience = await engine({ audience: 'https://api.example.com' });
      expect(await withAudience.introspect(refresh)).toEqual({ active: false, reason: 'audience_mismatch' });
      expect((await withAudience.introspect(await as.issueToken({ scope: 'read', resource: 'https://api.example.com' }))).active).toBe(true);
    });

    it('a DPoP-bound token from a real oidc-provider is refused as a bearer token', async () => {
      const { privateKey, publicKey } = await generateKeyPair('ES256');
      const token = await as.issueToken({ scope: 'read', dpop: { privateKey, publicJwk: await exportJWK(publicKey) } });
      const service = await engine();
      expect(await service.introspect(token)).toEqual({ active: false, reason: 'sender_constrained' });
    });

    it('a certificate-bound token (cnf x5t#S256) from a real oidc-provider is refused without its certificate', async () => {
      const token = await as.issueCertificateBoundToken('A4DtL2JmUMhAsvJj5tKyn64SqzmuXbMrJa0n761y5v0');
      const service = await engine();
      expect(await service.introspect(token)).toEqual({ active: false, reason: 'certificate_mismatch' });
    });

    it.each([
      ['token_type refresh_token', { token_type: 'refresh_token' }, 'not_access_token'],
      ['token_type urn refresh token', { token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }, 'not_access_token'],
      ['Ory Hydra token_use', { token_type: 'Bearer', token_use: 'refresh_token' }, 'not_access_token'],
      ['Keycloak typ Refresh', { typ: 'Refresh' }, 'not_access_token'],
      ['Keycloak typ ID', { typ: 'ID' }, 'not_access_token'],
      ['token_type DPoP', { token_type: 'DPoP' }, 'sender_constrained'],
      ['cnf.jkt', { token_type: 'Bearer', cnf: { jkt: 'abc' } }, 'sender_constrained'],
      ['Hydra access token', { token_type: 'Bearer', token_use: 'access_token' }, undefined],
      ['Keycloak access token', { typ: 'Bearer' }, undefined],
    ])('%s', async (_name, claims, reason) => {
      const server = await faulty(behave.json({ active: true, scope: 'read', exp: Math.floor(Date.now() / 1000) + 600, ...claims }));
      const service = await engine({ introspectionEndpoint: server.url });
      const result = await service.introspect(`token-${_name.replace(/\W/g, '-')}`);
      if (reason) expect(result).toEqual({ active: false, reason });
      else expect(result.active).toBe(true);
    });
  });

  describe('an answer without iss speaks for the issuer that answered (defect 5)', () => {
    const noIss = async () => {
      const server = await faulty((req, res, body) => {
        const base = `http://127.0.0.1:${req.socket.localPort}`;
        if (req.url?.startsWith('/.well-known/')) {
          return behave.json({ issuer: base, introspection_endpoint: `${base}/introspect` })(req, res, body);
        }
        return behave.json({ active: true, scope: 'read', token_type: 'Bearer', exp: Math.floor(Date.now() / 1000) + 600 })(req, res, body);
      });
      return { server, issuer: server.url.replace('/introspect', '') };
    };

    it('discovered issuer: accepted under expectedIssuer (Glewlwyd omits iss)', async () => {
      const { issuer } = await noIss();
      const service = await engine({ introspectionEndpoint: undefined, issuer, expectedIssuer: issuer });
      expect((await service.introspect('token-without-iss')).active).toBe(true);
      const other = await engine({ introspectionEndpoint: undefined, issuer, expectedIssuer: 'https://other.example.com' });
      expect(await other.introspect('token-without-iss')).toEqual({ active: false, reason: 'issuer_mismatch' });
    });

    it('configured endpoint + issuer: accepted; endpoint alone: accepted too (the configured endpoint speaks for expectedIssuer)', async () => {
      const { server, issuer } = await noIss();
      const withIssuer = await engine({ introspectionEndpoint: server.url, issuer, expectedIssuer: issuer });
      expect((await withIssuer.introspect('token-without-iss-2')).active).toBe(true);
      const endpointOnly = await engine({ introspectionEndpoint: server.url, expectedIssuer: issuer });
      expect((await endpointOnly.introspect('token-without-iss-2')).active).toBe(true);
      // An issuer other than expectedIssuer (the `issuer` option) is still a mismatch for an answer without iss.
      const otherIssuer = await engine({ introspectionEndpoint: server.url, issuer: 'https://other.example', expectedIssuer: issuer });
      expect(await otherIssuer.introspect('token-without-iss-3')).toEqual({ active: false, reason: 'issuer_mismatch' });
    });
  });

  describe('discovery obeys RFC 8414 §3.3 and the https rule (defect 9)', () => {
    it('metadata without issuer is refused: 503 discovery_misconfigured, and nothing is sent to the endpoints it names', async () => {
      const server = await faulty((req, res, body) => {
        const base = `http://127.0.0.1:${req.socket.localPort}`;
        if (req.url?.startsWith('/.well-known/')) return behave.json({ introspection_endpoint: `${base}/introspect` })(req, res, body);
        return behave.json({ active: true, token_type: 'Bearer' })(req, res, body);
      });
      const service = await engine({ introspectionEndpoint: undefined, issuer: server.url.replace('/introspect', ''), resilience: { retries: 0 } });
      await expect(service.introspect('any-token')).rejects.toMatchObject({
        reason: 'discovery_misconfigured',
        message: expect.stringContaining('no "issuer"'),
      });
      expect(server.bodies.filter((b) => b.includes('token='))).toEqual([]);
    });

    it('an issuer that differs even by a trailing slash is refused, with the fix in the message', async () => {
      const server = await faulty((req, res, body) => {
        const base = `http://127.0.0.1:${req.socket.localPort}`;
        return behave.json({ issuer: `${base}/`, introspection_endpoint: `${base}/introspect` })(req, res, body);
      });
      const service = await engine({ introspectionEndpoint: undefined, issuer: server.url.replace('/introspect', ''), resilience: { retries: 0 } });
      await expect(service.introspect('any-token')).rejects.toMatchObject({
        reason: 'discovery_misconfigured',
        message: expect.stringContaining('must be identical'),
      });
    });
  });

  describe('HTTP Basic credential encoding (defect 10)', () => {
    const secret = 'p@ss wörd+/=:%';
    /** Servers that compare the Basic credentials after form-decoding (RFC 6749 §2.3.1) or as sent (Glewlwyd). */
    const basicServer = (decode: boolean) =>
      faulty((req, res, body) => {
        const [id, pass] = Buffer.from(String(req.headers.authorization).replace(/^Basic /, ''), 'base64')
          .toString('utf8')
          .split(/:(.*)/s);
        const dec = (v: string) => (decode ? decodeURIComponent(v.replace(/\+/g, ' ')) : v);
        if (dec(id) !== 'api client' || dec(pass) !== secret) return behave.json({ error: 'invalid_client' }, 401)(req, res, body);
        return behave.json({ active: true, token_type: 'Bearer', scope: 'read' })(req, res, body);
      });

    it('form-urlencoded by default; raw when asked, for servers that do not form-decode', async () => {
      const formServer = await basicServer(true);
      const rawServer = await basicServer(false);
      const base = { clientId: 'api client', clientSecret: secret, resilience: { retries: 0, circuitBreaker: false as const } };
      expect((await (await engine({ ...base, introspectionEndpoint: formServer.url })).introspect('t1')).active).toBe(true);
      await expect((await engine({ ...base, introspectionEndpoint: rawServer.url })).introspect('t1')).rejects.toMatchObject({
        reason: 'client_authentication_failed',
      });
      const raw = await engine({ ...base, introspectionEndpoint: rawServer.url, clientSecretBasicEncoding: 'raw' });
      expect((await raw.introspect('t1')).active).toBe(true);
    });
  });
});
