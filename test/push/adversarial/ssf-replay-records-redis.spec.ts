// Adversarial review of the SSF receiver's replay records in Redis (round 16a; was attack16a-redis).
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createServer as createTcpServer, connect, type Server as TcpServer, type Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { CAEP_EVENTS, IntrospectionModule } from '../../../lib/index.js';
import { call, OrdersController, startApp } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../../support/authorization-server.js';
import { sleep } from '../../support/engine.js';
import { describeWithRedis, TestRedis } from '../../support/redis-server.js';

const AUD = 'https://orders.example.com/ssf';
const ISS = 'https://ssf.transmitter.example.com';

/**
 * A TCP proxy in front of the real redis-server: `cutAfterReplayRecord()` lets the next SET NX of a pushed
 * token's jti through, forwards Redis's +OK, then drops every connection and refuses new ones for `ms`
 * (a network partition / Redis failover right after the replay record was written).
 */
class CuttableProxy {
  private readonly sockets = new Set<Socket>();
  private down = false;
  private armed = false;
  private constructor(
    private readonly server: TcpServer,
    private readonly redis: TestRedis,
  ) {}
  static async start(redis: TestRedis): Promise<CuttableProxy> {
    const target = redis.port;
    let proxy: CuttableProxy;
    const server = createTcpServer((client) => {
      if (proxy.down) return client.destroy();
      const upstream = connect(target, '127.0.0.1');
      proxy.sockets.add(client).add(upstream);
      let cutOnReply = false;
      client.on('data', (chunk) => {
        if (proxy.armed && /:ssf:/.test(chunk.toString('latin1')) && /\bNX\b/.test(chunk.toString('latin1'))) {
          proxy.armed = false;
          cutOnReply = true;
        }
        upstream.write(chunk);
      });
      upstream.on('data', (chunk) => {
        client.write(chunk);
        if (cutOnReply) {
          cutOnReply = false;
          setImmediate(() => proxy.cut(2000));
        }
      });
      const end = () => {
        client.destroy();
        upstream.destroy();
        proxy.sockets.delete(client);
        proxy.sockets.delete(upstream);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    proxy = new CuttableProxy(server, redis);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return proxy;
  }
  get url(): string {
    return this.redis.urlAt((this.server.address() as { port: number }).port);
  }
  cutAfterReplayRecord(): void {
    this.armed = true;
  }
  cut(ms: number): void {
    this.down = true;
    for (const s of this.sockets) s.destroy();
    setTimeout(() => (this.down = false), ms);
  }
  stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describeWithRedis('SSF receiver replay records in a real Redis (two replicas)', () => {
  let as: TestAuthorizationServer;
  let redis: TestRedis;
  let proxy: CuttableProxy;
  let es: { privateKey: CryptoKey; publicJwk: JWK };
  const replicas: Array<{ app: INestApplication; url: string }> = [];

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    redis = await TestRedis.start();
    proxy = await CuttableProxy.start(redis);
    const e = await generateKeyPair('ES256', { extractable: true });
    es = { privateKey: e.privateKey, publicJwk: { ...(await exportJWK(e.publicKey)), kid: 'ssf-1', alg: 'ES256', use: 'sig' } };
    for (const adapter of ['express', 'fastify'] as const) {
      replicas.push(
        await startApp(
          adapter,
          IntrospectionModule.forRoot({
            issuer: as.issuer,
            ...CLIENTS.basic,
            allowInsecureRequests: true,
            cache: { redis: proxy.url, localTtlSeconds: 60, ttlSeconds: 60, indexSecret: 'index-secret-for-the-tests' },
            clockSkewSeconds: 2,
            securityEvents: { issuer: ISS, audience: AUD, jwks: { keys: [es.publicJwk] }, maxAgeSeconds: 120 },
            securityEventReceiver: { path: 'ssf/events' },
          }),
          [OrdersController],
        ),
      );
    }
    await sleep(300);
  }, 60_000);
  afterAll(async () => {
    for (const r of replicas) await r.app.close();
    await proxy?.stop();
    await redis?.kill();
    await as?.stop();
  });

  const sign = (events: Record<string, unknown>) =>
    new SignJWT({ iss: ISS, aud: AUD, jti: randomUUID(), iat: Math.floor(Date.now() / 1000), events })
      .setProtectedHeader({ alg: 'ES256', kid: 'ssf-1', typ: 'secevent+jwt' })
      .sign(es.privateKey);
  const sessionRevoked = (sid: string) => ({ [CAEP_EVENTS.sessionRevoked]: { subject: { format: 'complex', session: { format: 'opaque', id: sid } } } });
  const push = async (url: string, body: string) => {
    const res = await fetch(`${url}/ssf/events`, { method: 'POST', headers: { 'content-type': 'application/secevent+jwt' }, body });
    return { status: res.status, body: (await res.json().catch(() => undefined)) as any, retryAfter: res.headers.get('retry-after') };
  };
  const status = async (url: string, token: string) => (await call(`${url}/orders`, { authorization: `Bearer ${token}` })).status;
  async function cachedRevokedSession() {
    const session = await as.issueSessionToken(`user-${randomUUID().slice(0, 8)}`);
    for (const r of replicas) expect(await status(r.url, session.token)).toBe(200);
    await as.endSessionQuietly(session);
    for (const r of replicas) expect(await status(r.url, session.token)).toBe(200);
    return session;
  }

  it('the same SET raced 20x on two replicas at once is acted on exactly once', async () => {
    const set = await sign(sessionRevoked(`nobody-${randomUUID()}`));
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => push(replicas[i % 2].url, set)));
    expect(results.filter((r) => r.status === 202)).toHaveLength(1);
    expect(results.filter((r) => r.status === 400 && /replay/.test(r.body.description))).toHaveLength(19);
  });

  it('Redis lost after the replay record, before the eviction: 503, then the retry is accepted and ends the session', async () => {
    const session = await cachedRevokedSession();
    const set = await sign(sessionRevoked(session.sid));
    proxy.cutAfterReplayRecord();
    const first = await push(replicas[0].url, set);
    expect(first.status).toBe(503); // the receiver says: retry later (the jti "is released")
    await sleep(Number(first.retryAfter ?? 1) * 1000 + 2500); // Redis is back
    const retry = await push(replicas[1].url, set);
    // Current code: 400 {"err":"invalid_request","description":"This token was already received (\"jti\" replay)."}
    // -> the transmitter treats 400 as final and drops the event: the revocation is lost.
    expect(retry.status).toBe(202);
    await sleep(100);
    for (const r of replicas) expect(await status(r.url, session.token)).toBe(401);
  }, 30_000);

  it('Redis frozen (SIGSTOP): 503 + Retry-After in bounded time, fail closed; after SIGCONT the retry is accepted and evicts', async () => {
    const session = await cachedRevokedSession();
    const set = await sign(sessionRevoked(session.sid));
    redis.freeze();
    try {
      const t0 = Date.now();
      const frozen = await push(replicas[0].url, set);
      expect(frozen.status).toBe(503);
      expect(frozen.retryAfter).toBeTruthy();
      expect(Date.now() - t0).toBeLessThan(10_000);
      const other = await push(replicas[1].url, set); // replay on the other replica while frozen: not accepted either
      expect(other.status).toBe(503);
    } finally {
      redis.thaw();
    }
    await sleep(2500);
    const retry = await push(replicas[1].url, set);
    expect(retry.status).toBe(202);
    await sleep(100);
    for (const r of replicas) expect(await status(r.url, session.token)).toBe(401);
  }, 30_000);

  it('nothing in Redis names a sid or a sub in clear text (keys and values)', async () => {
    const session = await as.issueSessionToken(`user-${randomUUID().slice(0, 8)}`);
    for (const r of replicas) expect(await status(r.url, session.token)).toBe(200);
    expect((await push(replicas[0].url, await sign(sessionRevoked(session.sid)))).status).toBe(202);
    const keys = redis.cli('--scan').split('\n').filter(Boolean);
    expect(keys.length).toBeGreaterThan(0);
    let dump = keys.join('\n');
    for (const key of keys) {
      const type = redis.cli('TYPE', key).trim();
      dump += type === 'set' ? redis.cli('SMEMBERS', key) : type === 'string' ? redis.cli('GET', key) : '';
    }
    expect(dump).not.toContain(session.sid);
    expect(dump).not.toContain(session.accountId);
  });
});
