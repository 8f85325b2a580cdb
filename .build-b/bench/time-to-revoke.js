var __decorate = (this && this.__decorate) || function (decorators, target, key, desc) {
    var c = arguments.length, r = c < 3 ? target : desc === null ? desc = Object.getOwnPropertyDescriptor(target, key) : desc, d;
    if (typeof Reflect === "object" && typeof Reflect.decorate === "function") r = Reflect.decorate(decorators, target, key, desc);
    else for (var i = decorators.length - 1; i >= 0; i--) if (d = decorators[i]) r = (c < 3 ? d(r) : c > 3 ? d(target, key, r) : d(target, key)) || r;
    return c > 3 && r && Object.defineProperty(target, key, r), r;
};
var __metadata = (this && this.__metadata) || function (k, v) {
    if (typeof Reflect === "object" && typeof Reflect.metadata === "function") return Reflect.metadata(k, v);
};
/**
 * `npm run bench:revoke` — time-to-revoke per mechanism (issue 16): the time from a revocation at the
 * authorization server to the first 401 at the API, on one replica and on two replicas sharing a Redis.
 *
 * Real parts only, all on 127.0.0.1: the embedded oidc-provider (tokens issued, introspected and revoked
 * for real), a redis-server started here when the binary is installed, and real Nest HTTP apps (Express),
 * each kept busy by its own client loop (~`RATE` requests/s per replica with one hot token). For each
 * mechanism and topology, `PHASES.length` runs revoke a fresh token at a different phase of its cache
 * entry's life (stratified over the TTL), so the figures cover the TTL's phase instead of one lucky moment.
 * For two replicas the time is until *both* answer 401. Also reported: AS introspection calls per second
 * while the token was hot (what the mechanism costs).
 *
 * The clock starts when the AS destroys the token (oidc-provider's `access_token.destroyed` /
 * `client_credentials.destroyed` event, i.e. the revocation at the AS, before its HTTP answer), so pushes the AS
 * (or a transmitter fed by its events) sends while revoking are timed from the same moment as the other rows.
 *
 * Push rows, all over real HTTP on 127.0.0.1:
 * - SSF push: a Shared Signals transmitter built here on oidc-provider's `access_token.destroyed` event (its own
 *   ES256 key, its JWK Set served over HTTP): the user session's token is revoked with RFC 7009 by its client, and
 *   the transmitter signs a CAEP `session-revoked` SET (subject: `iss_sub` user + `opaque` session) and POSTs it
 *   (`application/secevent+jwt`) to replica A's receiver.
 * - back-channel logout: oidc-provider ends the session (grant and token revoked) and itself POSTs its signed
 *   logout token to the `web` client's `backchannel_logout_uri`, replica A's receiver.
 *
 * Prints a markdown table and writes bench/results/time-to-revoke.json. Bounded: about 1.5 minutes; a watchdog
 * ends the process after 150 s, and it always exits by itself.
 *
 * Adding a mechanism: give it `options` (module options / extras it needs), `revoke` (how the AS revokes, default
 * RFC 7009) and `notify` (what a transmitter does after the AS revoked, e.g. POST to replica A).
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Controller, Get, Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { CAEP_EVENTS, IntrospectionModule } from '../lib/index.js';
import { CLIENTS, EmbeddedAuthorizationServer } from '../sample/embedded-authorization-server.js';
import { hasRedis, TestRedis } from '../test/support/redis-server.js';
Logger.overrideLogger(false);
const here = dirname(fileURLToPath(import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Cache TTL of every row, seconds: TTL-only rows take about this long per run. */
const TTL_SECONDS = 3;
/** Requests per second each replica's client sends with the hot token. */
const RATE = 50;
/** Adaptive re-check fraction of the re-check rows. */
const RECHECK_FRACTION = 0.05;
/** Phases of the entry's life (fraction of the TTL after the warm-up fetch) at which the token is revoked. */
const PHASES = [1 / 6, 1 / 2, 5 / 6];
/** Give up on one run after this long (a mechanism that does not revoke shows as "> limit"). */
const LIMIT_MS = TTL_SECONDS * 1000 + 2000;
const WEBHOOK_SECRET = 'bench-webhook-secret-0123456789';
const INDEX_SECRET = 'bench-index-secret-0123456789';
const SSF_AUDIENCE = 'https://api.bench.example.com/ssf';
/** The whole script is stopped after this long, whatever happens (it normally takes about 1.5 minutes). */
const WATCHDOG_MS = 150_000;
/** `TTR_ONLY=<part of a name>`: run only those rows (for trying one mechanism; the results file is not written). */
const ONLY = process.env.TTR_ONLY?.toLowerCase();
/**
 * A Shared Signals transmitter (RFC 8935 push) built on the AS's events: its own ES256 key, its JWK Set served over
 * real HTTP on 127.0.0.1; `push()` signs a SET (RFC 8417) and POSTs it to a receiver.
 */
class Transmitter {
    constructor(server, privateKey) {
        this.server = server;
        this.privateKey = privateKey;
        this.issuer = 'https://ssf.bench.example.com';
    }
    static async start() {
        const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
        const publicJwk = { ...(await exportJWK(publicKey)), kid: 'bench-ssf-1', alg: 'ES256', use: 'sig' };
        const server = createServer((_req, res) => {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ keys: [publicJwk] }));
        });
        await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
        return new Transmitter(server, privateKey);
    }
    get jwksUri() {
        return `http://127.0.0.1:${this.server.address().port}/jwks`;
    }
    /** CAEP session-revoked for `sub`'s session `sid` (SSF 1.0 `complex` subject), signed and POSTed to `url`. */
    async pushSessionRevoked(url, subjectIssuer, sub, sid) {
        const now = Math.floor(Date.now() / 1000);
        const set = await new SignJWT({
            iss: this.issuer,
            aud: SSF_AUDIENCE,
            jti: randomUUID(),
            iat: now,
            events: {
                [CAEP_EVENTS.sessionRevoked]: {
                    subject: { format: 'complex', user: { format: 'iss_sub', iss: subjectIssuer, sub }, session: { format: 'opaque', id: sid } },
                    event_timestamp: now,
                },
            },
        })
            .setProtectedHeader({ alg: 'ES256', kid: 'bench-ssf-1', typ: 'secevent+jwt' })
            .sign(this.privateKey);
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/secevent+jwt' }, body: set });
        const text = await res.text();
        if (res.status !== 202)
            throw new Error(`SSF receiver answered ${res.status} ${text}`);
    }
    stop() {
        this.server.closeAllConnections();
        return new Promise((resolve) => this.server.close(() => resolve()));
    }
}
const MECHANISMS = [
    { name: 'TTL only', settings: `ttl ${TTL_SECONDS} s, no refresh, no re-check`, cache: { revalidation: { refreshAheadWindow: 0 } } },
    {
        name: 'refresh-ahead',
        settings: `ttl ${TTL_SECONDS} s, window 0.2 (default)`,
        cache: { revalidation: { refreshAheadWindow: 0.2 } },
    },
    {
        name: 'adaptive re-check',
        settings: `ttl ${TTL_SECONDS} s, p = ${RECHECK_FRACTION}, r ≈ ${RATE}/s per replica`,
        cache: { revalidation: { refreshAheadWindow: 0, recheckFraction: RECHECK_FRACTION } },
    },
    {
        name: 'webhook (lib/revocation)',
        settings: `ttl ${TTL_SECONDS} s, POST { token } to replica A`,
        cache: { revalidation: { refreshAheadWindow: 0 } },
        // One replica on the in-memory cache: the webhook says it reaches only this replica (no broadcast needed).
        extras: (replicas) => ({ revocationWebhook: { path: 'internal/revocations', ...(replicas === 1 ? { scope: 'this-replica' } : {}) } }),
        options: () => ({ revocationWebhookSecret: WEBHOOK_SECRET }),
        notify: async ({ token, replicas }) => {
            const res = await fetch(`${replicas[0]}/internal/revocations`, {
                method: 'POST',
                headers: { 'content-type': 'application/json', authorization: `Bearer ${WEBHOOK_SECRET}` },
                body: JSON.stringify({ token }),
            });
            await res.arrayBuffer();
            if (!res.ok)
                throw new Error(`webhook answered ${res.status}`);
        },
    },
    {
        name: 'SSF push (RFC 8935)',
        settings: `ttl ${TTL_SECONDS} s, RFC 7009 → CAEP session-revoked SET to replica A`,
        cache: { revalidation: { refreshAheadWindow: 0 } },
        sessionToken: true,
        extras: (replicas) => ({ securityEventReceiver: { path: 'ssf/events', ...(replicas === 1 ? { scope: 'this-replica' } : {}) } }),
        options: (bench) => ({
            securityEvents: { issuer: bench.transmitter.issuer, audience: SSF_AUDIENCE, jwksUri: bench.transmitter.jwksUri, subjectIssuer: bench.as.issuer },
        }),
        // The transmitter: oidc-provider's `access_token.destroyed` (RFC 7009 revocation) → a signed SET to replica A.
        revoke: async (run) => {
            const delivered = [];
            run.bench.onDestroyed = (token) => {
                if (token.jti !== run.token || !token.accountId || !token.sid)
                    return;
                delivered.push(run.bench.transmitter.pushSessionRevoked(`${run.replicas[0]}/ssf/events`, run.bench.as.issuer, token.accountId, token.sid));
            };
            try {
                await run.bench.as.revokeAs(CLIENTS.web, run.token);
                await Promise.all(delivered);
                if (delivered.length !== 1)
                    throw new Error(`the transmitter sent ${delivered.length} SETs for one revocation`);
            }
            finally {
                run.bench.onDestroyed = undefined;
            }
        },
    },
    {
        name: 'back-channel logout',
        settings: `ttl ${TTL_SECONDS} s, oidc-provider ends the session, logout token to replica A`,
        cache: { revalidation: { refreshAheadWindow: 0 } },
        sessionToken: true,
        extras: (replicas) => ({ backchannelLogoutReceiver: { path: 'oidc/backchannel-logout', ...(replicas === 1 ? { scope: 'this-replica' } : {}) } }),
        options: (bench) => ({ backchannelLogout: { issuer: bench.as.issuer, audience: CLIENTS.web.clientId, jwksUri: bench.as.jwksUri } }),
        prepare: (bench, replicas) => bench.as.setBackchannelLogoutUri(`${replicas[0]}/oidc/backchannel-logout`),
        // oidc-provider revokes the session's grant and token, then POSTs its signed logout token (rejects unless 200).
        revoke: (run) => run.bench.as.endSession(run.session),
    },
];
let ApiController = class ApiController {
    get() {
        return { ok: true };
    }
};
__decorate([
    Get(),
    __metadata("design:type", Function),
    __metadata("design:paramtypes", []),
    __metadata("design:returntype", void 0)
], ApiController.prototype, "get", null);
ApiController = __decorate([
    Controller('api')
], ApiController);
async function startReplica(bench, mechanism, redisUrl, keyPrefix) {
    const { as } = bench;
    const module = IntrospectionModule.forRootAsync({
        ...(mechanism.extras?.(redisUrl ? 2 : 1) ?? {}),
        useFactory: () => ({
            introspectionEndpoint: as.introspectionEndpoint,
            allowInsecureRequests: true,
            ...CLIENTS.basic,
            metrics: false,
            resilience: { retries: 0 },
            cache: { ttlSeconds: TTL_SECONDS, ...(redisUrl ? { redis: redisUrl, keyPrefix, indexSecret: INDEX_SECRET } : {}), ...(mechanism.cache ?? {}) },
            ...(mechanism.options?.(bench) ?? {}),
        }),
    });
    let AppModule = class AppModule {
    };
    AppModule = __decorate([
        Module({ imports: [module], controllers: [ApiController] })
    ], AppModule);
    const app = await NestFactory.create(AppModule, new ExpressAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}
/** One client loop per replica: about RATE requests/s; resolves to the time of its first 401 (epoch ms). */
function busyClient(url, token, stop, sent) {
    return (async () => {
        const period = 1000 / RATE;
        while (!stop.done) {
            const started = Date.now();
            const res = await fetch(`${url}/api`, { headers: { authorization: `Bearer ${token}` } });
            await res.arrayBuffer();
            sent.count++;
            if (res.status === 401)
                return Date.now();
            if (res.status !== 200)
                throw new Error(`unexpected ${res.status} from ${url}`);
            await sleep(Math.max(0, period - (Date.now() - started)));
        }
        return undefined;
    })();
}
/** Notified with the value of every token the AS destroys (set during a revocation). */
let destroyedTimer;
async function measure(bench, replicas, mechanism, phase) {
    const { as } = bench;
    const session = mechanism.sessionToken ? await as.issueSessionToken(`bench-${randomUUID().slice(0, 8)}`) : undefined;
    const token = session?.token ?? (await as.issueToken({ scope: 'read' }));
    const stop = { done: false };
    // Warm-up: the first request fetches the entry (one replica first, as real traffic would start somewhere).
    for (const url of replicas) {
        const res = await fetch(`${url}/api`, { headers: { authorization: `Bearer ${token}` } });
        await res.arrayBuffer();
    }
    const countedFrom = Date.now();
    const callsBefore = as.introspectionRequests;
    const sent = { count: 0 };
    const clients = replicas.map((url) => busyClient(url, token, stop, sent));
    // A client that fails is reported by Promise.all below (or after a failed revocation), never as an unhandled rejection.
    for (const client of clients)
        client.catch(() => undefined);
    let asCallsPerSecond;
    let revokedAt;
    let seen;
    try {
        await sleep(phase * TTL_SECONDS * 1000);
        asCallsPerSecond = (as.introspectionRequests - callsBefore) / ((Date.now() - countedFrom) / 1000);
        // The revocation at the AS: the moment oidc-provider destroys the token (before its answer to the revoker).
        let destroyedAt;
        destroyedTimer = (jti) => {
            if (jti === token)
                destroyedAt ??= Date.now();
        };
        const run = { bench, token, session, replicas };
        try {
            await (mechanism.revoke ? mechanism.revoke(run) : as.revoke(token));
        }
        finally {
            destroyedTimer = undefined;
        }
        if (destroyedAt === undefined)
            throw new Error(`${mechanism.name}: the AS did not destroy the token`);
        revokedAt = destroyedAt;
        await mechanism.notify?.(run);
        const limit = setTimeout(() => (stop.done = true), LIMIT_MS);
        try {
            seen = await Promise.all(clients);
        }
        finally {
            clearTimeout(limit);
        }
    }
    finally {
        // Every client loop has ended before the replicas are closed.
        stop.done = true;
        await Promise.allSettled(clients);
    }
    const requestsPerSecondPerReplica = sent.count / replicas.length / ((Date.now() - countedFrom) / 1000);
    const perReplicaMs = seen.map((at) => (at === undefined ? undefined : at - revokedAt));
    const ms = perReplicaMs.some((t) => t === undefined) ? undefined : Math.max(...perReplicaMs);
    return { phase, ms, perReplicaMs, asCallsPerSecond, requestsPerSecondPerReplica };
}
async function main() {
    const started = Date.now();
    const as = await EmbeddedAuthorizationServer.start();
    const transmitter = await Transmitter.start();
    const bench = { as, transmitter };
    for (const event of ['access_token.destroyed', 'client_credentials.destroyed']) {
        as.on(event, (token) => {
            destroyedTimer?.(token.jti);
            if (event === 'access_token.destroyed')
                bench.onDestroyed?.(token);
        });
    }
    const redis = hasRedis ? await TestRedis.start() : undefined;
    if (!redis)
        console.warn('redis-server not found (apt-get install redis-server): the two-replica rows are skipped.');
    const rows = [];
    try {
        for (const mechanism of MECHANISMS.filter((m) => !ONLY || m.name.toLowerCase().includes(ONLY))) {
            for (const count of [1, 2]) {
                if (mechanism.pending) {
                    rows.push({ mechanism: mechanism.name, settings: mechanism.settings, replicas: count, pending: mechanism.pending });
                    continue;
                }
                if (count === 2 && !redis) {
                    rows.push({ mechanism: mechanism.name, settings: mechanism.settings, replicas: count, pending: 'skipped: no redis-server' });
                    continue;
                }
                const keyPrefix = `ttr-${rows.length}`;
                const apps = [];
                try {
                    const urls = [];
                    for (let i = 0; i < count; i++) {
                        // One replica runs on its in-process cache; two share the Redis (entries, evictions by pub/sub).
                        const replica = await startReplica(bench, mechanism, count === 2 ? redis.url : undefined, keyPrefix);
                        apps.push(replica.app);
                        urls.push(replica.url);
                    }
                    mechanism.prepare?.(bench, urls);
                    const runs = [];
                    for (const phase of PHASES)
                        runs.push(await measure(bench, urls, mechanism, phase));
                    rows.push({ mechanism: mechanism.name, settings: mechanism.settings, replicas: count, runs });
                    process.stderr.write(`${mechanism.name}, ${count} replica(s): ${runs.map((r) => r.ms ?? 'none').join(' / ')} ms\n`);
                }
                finally {
                    for (const app of apps)
                        await app.close();
                }
            }
        }
    }
    finally {
        await redis?.kill();
        await transmitter.stop();
        await as.stop();
    }
    const fmt = (ms) => (ms === undefined ? `> ${LIMIT_MS}` : String(Math.round(ms)));
    const lines = [
        '| Mechanism | Settings | Replicas | Time to revoke, ms (median / max over phases) | Each run, ms | AS calls/s (hot token) | Requests/s per replica |',
        '|---|---|---|---|---|---|---|',
    ];
    for (const row of rows) {
        if (!row.runs) {
            lines.push(`| ${row.mechanism} | ${row.settings} | ${row.replicas} | ${row.pending} | — | — | — |`);
            continue;
        }
        const times = row.runs.map((r) => r.ms ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
        const median = times[Math.floor(times.length / 2)];
        const max = times[times.length - 1];
        const each = row.runs.map((r) => fmt(r.ms)).join(' / ');
        const calls = row.runs.reduce((total, r) => total + r.asCallsPerSecond, 0) / row.runs.length;
        const rate = row.runs.reduce((total, r) => total + r.requestsPerSecondPerReplica, 0) / row.runs.length;
        lines.push(`| ${row.mechanism} | ${row.settings} | ${row.replicas} | ${fmt(Number.isFinite(median) ? median : undefined)} / ${fmt(Number.isFinite(max) ? max : undefined)} | ${each} | ${calls.toFixed(2)} | ${rate.toFixed(0)} |`);
    }
    const table = lines.join('\n');
    console.log(table);
    console.log(`\nRevocation at phases ${PHASES.map((p) => p.toFixed(2)).join(', ')} of a ${TTL_SECONDS} s entry; ~${RATE} requests/s per replica; ` +
        `two replicas: until both answer 401. Whole run: ${((Date.now() - started) / 1000).toFixed(1)} s.`);
    if (ONLY)
        return;
    const out = join(here, '..', '..', 'bench', 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'time-to-revoke.json'), JSON.stringify({
        date: new Date().toISOString(),
        node: process.version,
        parameters: { ttlSeconds: TTL_SECONDS, ratePerReplica: RATE, recheckFraction: RECHECK_FRACTION, phases: PHASES, limitMs: LIMIT_MS },
        rows,
        table,
    }, null, 2));
}
// Bounded whatever happens: a stuck run cannot keep the process (or CI) waiting.
setTimeout(() => {
    console.error(`time-to-revoke: still running after ${WATCHDOG_MS / 1000} s, giving up.`);
    process.exit(2);
}, WATCHDOG_MS).unref();
// Everything is closed in main(); exit explicitly anyway (an HTTP keep-alive agent must not hold the process).
await main().then(() => process.exit(0), (error) => {
    console.error(error);
    process.exit(1);
});
