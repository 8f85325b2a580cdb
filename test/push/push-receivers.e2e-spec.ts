import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { CAEP_EVENTS, IntrospectionModule, type IntrospectionModuleOptions, type PushReceivedEvent } from '../../lib/index.js';
import { ADAPTERS, call, OrdersController, startApp, type AdapterName } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../support/authorization-server.js';
import { sleep } from '../support/engine.js';
import { describeWithRedis, TestRedis } from '../support/redis-server.js';

const SSF_AUDIENCE = 'https://orders.example.com/ssf';
const BCL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * A Shared Signals transmitter built for the test: an ES256 key of its own, its JWK Set served over real HTTP on
 * 127.0.0.1, SETs signed with jose and pushed (RFC 8935) with real HTTP requests.
 */
class Transmitter {
  readonly issuer = 'https://ssf.transmitter.example.com';
  jwksRequests = 0;
  private constructor(
    private readonly server: Server,
    readonly key: { privateKey: CryptoKey; publicJwk: JWK },
  ) {}

  static async start(): Promise<Transmitter> {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid: 'ssf-1', alg: 'ES256', use: 'sig' };
    let tx: Transmitter | undefined;
    const server = createServer((req, res) => {
      if (tx) tx.jwksRequests++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    tx = new Transmitter(server, { privateKey, publicJwk });
    return tx;
  }

  get jwksUri(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/jwks`;
  }

  /** A SET (RFC 8417) as SSF 1.0 sends it; `claims` and `header` override the defaults. */
  async sign(
    events: Record<string, unknown>,
    claims: Record<string, unknown> = {},
    header: Record<string, unknown> = {},
    key: CryptoKey = this.key.privateKey,
  ): Promise<string> {
    return new SignJWT({ iss: this.issuer, aud: SSF_AUDIENCE, jti: randomUUID(), iat: Math.floor(Date.now() / 1000), events, ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'ssf-1', typ: 'secevent+jwt', ...header })
      .sign(key);
  }

  async push(url: string, body: string, contentType = 'application/secevent+jwt') {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A CAEP session-revoked event for a session (SSF 1.0 `complex` subject). */
function sessionRevoked(issuer: string, sub: string, sid?: string) {
  return {
    [CAEP_EVENTS.sessionRevoked]: {
      subject: sid
        ? { format: 'complex', user: { format: 'iss_sub', iss: issuer, sub }, session: { format: 'opaque', id: sid } }
        : { format: 'iss_sub', iss: issuer, sub },
      event_timestamp: Math.floor(Date.now() / 1000),
    },
  };
}

function unsigned(payload: Record<string, unknown>, typ: string): string {
  const enc = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${enc({ alg: 'none', typ })}.${enc(payload)}.`;
}

/**
 * Issue 16: standard push receivers. Two replicas (Express, Fastify) share a real Redis and a real oidc-provider;
 * every attack is sent to each adapter's receiver, and the victim's token must stay valid on both replicas.
 */
describeWithRedis('push receivers (Shared Signals, back-channel logout) over two replicas sharing Redis', () => {
  let as: TestAuthorizationServer;
  let redis: TestRedis;
  let tx: Transmitter;
  const replicas: Record<AdapterName, { app: INestApplication; url: string }> = {} as never;
  const pushes: PushReceivedEvent[] = [];

  const options = (): IntrospectionModuleOptions => ({
    issuer: as.issuer,
    ...CLIENTS.basic,
    allowInsecureRequests: true,
    requireTokenType: true,
    cache: { redis: redis.url, localTtlSeconds: 60, ttlSeconds: 60, indexSecret: 'index-secret-for-the-tests' },
    clockSkewSeconds: 2,
    securityEvents: { issuer: tx.issuer, audience: SSF_AUDIENCE, jwksUri: tx.jwksUri, maxAgeSeconds: 60, maxBodyBytes: 4096, keysRefreshIntervalSeconds: 0 },
    backchannelLogout: { audience: CLIENTS.web.clientId, maxAgeSeconds: 60 },
    events: { onPushReceived: (event) => void pushes.push(event) },
  });
  const start = (adapter: AdapterName) =>
    startApp(
      adapter,
      IntrospectionModule.forRoot({
        ...options(),
        securityEventReceiver: { path: 'ssf/events' },
        backchannelLogoutReceiver: { path: 'oidc/backchannel-logout' },
      }),
      [OrdersController],
    );

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    redis = await TestRedis.start();
    tx = await Transmitter.start();
    replicas.express = await start('express');
    replicas.fastify = await start('fastify');
    // oidc-provider sends logout tokens to the Express replica; the eviction reaches the other through Redis.
    as.setBackchannelLogoutUri(`${replicas.express.url}/oidc/backchannel-logout`);
  });
  afterAll(async () => {
    for (const replica of Object.values(replicas)) await replica.app.close();
    await tx?.stop();
    await redis?.kill();
    await as?.stop();
  });

  /** A live session token, accepted (and cached) on both replicas. */
  async function acceptedSessionToken(accountId = `user-${randomUUID().slice(0, 8)}`) {
    const session = await as.issueSessionToken(accountId);
    for (const replica of Object.values(replicas)) expect((await call(`${replica.url}/orders`, bearer(session.token))).status).toBe(200);
    return session;
  }
  async function expectStatusOnBoth(token: string, status: number) {
    for (const replica of Object.values(replicas)) expect((await call(`${replica.url}/orders`, bearer(token))).status).toBe(status);
  }

  describe.each(ADAPTERS)('Shared Signals receiver on %s', (adapter) => {
    const url = () => `${replicas[adapter].url}/ssf/events`;

    it('session-revoked for a session: 202, and the token is refused on both replicas (revoked at the AS, cached before)', async () => {
      const session = await acceptedSessionToken();
      // Revoked at the AS: without the push, both replicas keep accepting it from cache for up to ttlSeconds.
      await as.endSessionQuietly(session);
      await expectStatusOnBoth(session.token, 200);
      const res = await tx.push(url(), await tx.sign(sessionRevoked(as.issuer, session.accountId, session.sid)));
      expect(res.status).toBe(202);
      await sleep(100); // pub/sub delivery to the other replica
      await expectStatusOnBoth(session.token, 401);
      const event = pushes.at(-1)!;
      expect(event).toMatchObject({ receiver: 'security-events', outcome: 'accepted' });
      expect(event.timeToRevokeMs).toBeGreaterThanOrEqual(0);
    });

    const attacks: Array<[string, () => Promise<{ status: number; body: any }>, string]> = [
      [
        'a forged signature (same kid, another key)',
        async () => {
          const { privateKey } = await generateKeyPair('ES256');
          return tx.push(url(), await tx.sign(currentEvents(), {}, {}, privateKey));
        },
        'authentication_failed',
      ],
      ['an unknown kid', async () => tx.push(url(), await tx.sign(currentEvents(), {}, { kid: 'not-published' })), 'invalid_key'],
      [
        'alg none',
        async () =>
          tx.push(
            url(),
            unsigned({ iss: tx.issuer, aud: SSF_AUDIENCE, jti: randomUUID(), iat: Math.floor(Date.now() / 1000), events: currentEvents() }, 'secevent+jwt'),
          ),
        'authentication_failed',
      ],
      ['a wrong aud', async () => tx.push(url(), await tx.sign(currentEvents(), { aud: 'https://another-api.example.com' })), 'invalid_audience'],
      ['a wrong iss', async () => tx.push(url(), await tx.sign(currentEvents(), { iss: 'https://evil.example.com' })), 'invalid_issuer'],
      ['a wrong typ (JWT)', async () => tx.push(url(), await tx.sign(currentEvents(), {}, { typ: 'JWT' })), 'invalid_request'],
      ['an expired iat', async () => tx.push(url(), await tx.sign(currentEvents(), { iat: Math.floor(Date.now() / 1000) - 600 })), 'invalid_request'],
      ['an iat in the future', async () => tx.push(url(), await tx.sign(currentEvents(), { iat: Math.floor(Date.now() / 1000) + 600 })), 'invalid_request'],
      ['a wrong content type (text/plain)', async () => tx.push(url(), await tx.sign(currentEvents()), 'text/plain'), 'invalid_request'],
      [
        'a wrong content type (the SET in JSON)',
        async () => tx.push(url(), JSON.stringify({ set: await tx.sign(currentEvents()) }), 'application/json'),
        'invalid_request',
      ],
      ['an oversized body', async () => tx.push(url(), await tx.sign({ ...currentEvents(), padding: { x: 'x'.repeat(8000) } })), 'invalid_request'],
      ['no subject in the event', async () => tx.push(url(), await tx.sign({ [CAEP_EVENTS.credentialChange]: {} })), 'invalid_request'],
    ];
    let victim: Awaited<ReturnType<typeof acceptedSessionToken>>;
    const currentEvents = () => sessionRevoked(as.issuer, victim.accountId, victim.sid);

    it.each(attacks)('%s: 400 with the RFC 8935 code, the token stays valid on both replicas', async (_name, attack, err) => {
      victim ??= await acceptedSessionToken();
      const res = await attack();
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ err });
      expect(typeof res.body.description).toBe('string');
      await sleep(50);
      await expectStatusOnBoth(victim.token, 200);
    });

    it('a replayed SET is refused, on this replica and on the other one', async () => {
      victim ??= await acceptedSessionToken();
      // A SET about someone else (so the first delivery leaves the victim alone).
      const set = await tx.sign(sessionRevoked(as.issuer, 'somebody-else', 'another-session'));
      expect((await tx.push(url(), set)).status).toBe(202);
      for (const target of Object.values(replicas)) {
        const replay = await tx.push(`${target.url}/ssf/events`, set);
        expect(replay.status).toBe(400);
        expect(replay.body).toMatchObject({ err: 'invalid_request', description: expect.stringMatching(/replay/) });
      }
      await expectStatusOnBoth(victim.token, 200);
    });

    it('an unknown event type and a subject in an unsupported format are acknowledged (202) and ignored', async () => {
      victim ??= await acceptedSessionToken();
      const unknown = await tx.push(
        url(),
        await tx.sign({
          'https://schemas.openid.net/secevent/caep/event-type/device-compliance-change': {
            subject: { format: 'iss_sub', iss: as.issuer, sub: victim.accountId },
          },
        }),
      );
      expect(unknown.status).toBe(202);
      const email = await tx.push(url(), await tx.sign({ [CAEP_EVENTS.credentialChange]: { subject: { format: 'email', email: 'alice@example.com' } } }));
      expect(email.status).toBe(202);
      expect(pushes.at(-1)).toMatchObject({ outcome: 'ignored' });
      await expectStatusOnBoth(victim.token, 200);
    });

    it('credential-change (SSF 1.0 sub_id) evicts every token of the subject', async () => {
      const one = await acceptedSessionToken();
      await as.endSessionQuietly(one);
      const res = await tx.push(
        url(),
        await tx.sign(
          { [CAEP_EVENTS.credentialChange]: { credential_type: 'password', change_type: 'update' } },
          { sub_id: { format: 'iss_sub', iss: as.issuer, sub: one.accountId } },
        ),
      );
      expect(res.status).toBe(202);
      await sleep(100);
      await expectStatusOnBoth(one.token, 401);
    });
  });

  describe.each(ADAPTERS)('back-channel logout receiver on %s', (adapter) => {
    const url = () => `${replicas[adapter].url}/oidc/backchannel-logout`;
    const post = async (body: string, contentType = 'application/x-www-form-urlencoded') => {
      const res = await fetch(url(), { method: 'POST', headers: { 'content-type': contentType }, body });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
    };
    const logoutClaims = (session: { accountId: string; sid: string }, extra: Record<string, unknown> = {}) => ({
      iss: as.issuer,
      aud: CLIENTS.web.clientId,
      iat: Math.floor(Date.now() / 1000),
      exp: Math.floor(Date.now() / 1000) + 120,
      jti: randomUUID(),
      sub: session.accountId,
      sid: session.sid,
      events: { [BCL_EVENT]: {} },
      ...extra,
    });
    const form = (token: string) => new URLSearchParams({ logout_token: token }).toString();
    let victim: Awaited<ReturnType<typeof acceptedSessionToken>>;

    const FORM = 'application/x-www-form-urlencoded';
    const attacks: Array<[string, () => Promise<string>, string]> = [
      [
        'a nonce (an ID token, not a logout token)',
        async () => form(await as.signWithServerKey(logoutClaims(victim, { nonce: 'n-0S6_WzA2Mj' }), 'logout+jwt')),
        FORM,
      ],
      ['no backchannel-logout event', async () => form(await as.signWithServerKey(logoutClaims(victim, { events: {} }), 'logout+jwt')), FORM],
      ['a wrong aud', async () => form(await as.signWithServerKey(logoutClaims(victim, { aud: 'another-client' }), 'logout+jwt')), FORM],
      ['a wrong iss', async () => form(await as.signWithServerKey(logoutClaims(victim, { iss: 'https://evil.example.com' }), 'logout+jwt')), FORM],
      ['neither sub nor sid', async () => form(await as.signWithServerKey(logoutClaims(victim, { sub: undefined, sid: undefined }), 'logout+jwt')), FORM],
      ['an old iat', async () => form(await as.signWithServerKey(logoutClaims(victim, { iat: Math.floor(Date.now() / 1000) - 600 }), 'logout+jwt')), FORM],
      ['an access-token typ', async () => form(await as.signWithServerKey(logoutClaims(victim), 'at+jwt')), FORM],
      [
        "a forged signature (the server's kid, another key)",
        async () => {
          const { privateKey } = await generateKeyPair('RS256');
          return form(await new SignJWT(logoutClaims(victim)).setProtectedHeader({ alg: 'RS256', kid: as.currentKid, typ: 'logout+jwt' }).sign(privateKey));
        },
        FORM,
      ],
      ['alg none', async () => form(unsigned(logoutClaims(victim), 'logout+jwt')), FORM],
      ['an oversized logout_token', async () => form(await as.signWithServerKey(logoutClaims(victim, { padding: 'x'.repeat(20_000) }), 'logout+jwt')), FORM],
      ['a JSON body', async () => JSON.stringify({ logout_token: await as.signWithServerKey(logoutClaims(victim), 'logout+jwt') }), 'application/json'],
    ];

    it.each(attacks)('%s: 400 invalid_request with no-store, the token stays valid on both replicas', async (_name, make, contentType) => {
      victim ??= await acceptedSessionToken();
      const res = await post(await make(), contentType);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'invalid_request' });
      expect(res.headers.get('cache-control')).toBe('no-store');
      await sleep(50);
      await expectStatusOnBoth(victim.token, 200);
    });

    it('a replayed logout token is refused on both replicas', async () => {
      victim ??= await acceptedSessionToken();
      const token = form(await as.signWithServerKey(logoutClaims({ accountId: 'somebody-else', sid: 'another-session' }), 'logout+jwt'));
      expect((await post(token)).status).toBe(200);
      for (const target of Object.values(replicas)) {
        const res = await fetch(`${target.url}/oidc/backchannel-logout`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: token,
        });
        expect(res.status).toBe(400);
        expect(await res.json()).toMatchObject({ error: 'invalid_request', error_description: expect.stringMatching(/replay/) });
      }
      await expectStatusOnBoth(victim.token, 200);
    });

    it('a logout token signed by the server for this session: 200 no-store, the token refused on both replicas', async () => {
      const session = await acceptedSessionToken();
      const other = await acceptedSessionToken(session.accountId); // same user, another session: kept
      await as.endSessionQuietly(session);
      const res = await post(form(await as.signWithServerKey(logoutClaims(session), 'logout+jwt')));
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      await sleep(100);
      await expectStatusOnBoth(session.token, 401);
      await expectStatusOnBoth(other.token, 200);
    });
  });

  it('oidc-provider ends a session: its back-channel logout token evicts the token on both replicas', async () => {
    const session = await acceptedSessionToken();
    const before = pushes.length;
    await as.endSession(session); // revokes the grant, then POSTs a real logout token to the Express replica
    await sleep(100);
    await expectStatusOnBoth(session.token, 401);
    expect(pushes.slice(before)).toEqual([expect.objectContaining({ receiver: 'backchannel-logout', outcome: 'accepted', evicted: expect.any(Number) })]);
  });

  it('a transmitter built on oidc-provider events: RFC 7009 revocation -> CAEP session-revoked -> 401 on both replicas', async () => {
    const session = await acceptedSessionToken();
    const delivered: Array<Promise<unknown>> = [];
    // oidc-provider emits `access_token.destroyed` when RFC 7009 revocation destroys an access token.
    as.on('access_token.destroyed', (token: { accountId?: string; sid?: string }) => {
      if (token.accountId && token.sid)
        delivered.push(tx.sign(sessionRevoked(as.issuer, token.accountId, token.sid)).then((set) => tx.push(`${replicas.fastify.url}/ssf/events`, set)));
    });
    await as.revokeAs(CLIENTS.web, session.token);
    await Promise.all(delivered);
    expect(delivered).toHaveLength(1);
    await sleep(100);
    await expectStatusOnBoth(session.token, 401);
  });
});

/** Careless operator: receivers that could not do what they promise refuse to start, saying what to change. */
describe('push receivers: start-up checks', () => {
  const base = { introspectionEndpoint: 'http://127.0.0.1:9/introspect', allowInsecureRequests: true, ...CLIENTS.basic };
  const ssf = { issuer: 'https://ssf.example.com', audience: 'https://api.example.com', jwks: { keys: [] } };
  it('a Shared Signals receiver without `securityEvents` is refused', async () => {
    await expect(
      startApp('express', IntrospectionModule.forRoot({ ...base, cache: {}, securityEventReceiver: { path: 'ssf', scope: 'this-replica' } })),
    ).rejects.toThrow(/needs the `securityEvents` option/);
  });
  it('without cache.redis the default scope (every replica) is refused', async () => {
    await expect(startApp('express', IntrospectionModule.forRoot({ ...base, securityEvents: ssf, securityEventReceiver: { path: 'ssf' } }))).rejects.toThrow(
      /needs `cache.redis`/,
    );
  });
  it('alg none, HMAC and two key sources are refused in the options', async () => {
    await expect(
      startApp(
        'express',
        IntrospectionModule.forRoot({ ...base, securityEvents: { ...ssf, jwksUri: 'https://ssf.example.com/jwks', algorithms: ['none', 'HS256'] } }),
      ),
    ).rejects.toThrow(/exactly one of `securityEvents.jwksUri`.*lists 'none'.*lists 'HS256'/s);
  });
  it('back-channel logout without an issuer to check is refused', async () => {
    await expect(
      startApp('express', IntrospectionModule.forRoot({ ...base, backchannelLogout: {}, backchannelLogoutReceiver: { path: 'bcl' } })),
    ).rejects.toThrow(/checks the logout token's `iss`/);
  });
});
