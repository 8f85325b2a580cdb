import { createServer, type Server } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { IntrospectionService } from '../../lib/index.js';
import { call } from './app.js';
import type { TestAuthorizationServer } from './authorization-server.js';
import { sleep } from './engine.js';

/** An app replica under test: its Nest application and base URL. */
export interface Replica {
  readonly app: INestApplication;
  readonly url: string;
}

/**
 * A loopback HTTP proxy in front of the AS's introspection endpoint that counts the introspections of each token:
 * a token cached by one replica and found by the other in the shared tier is introspected exactly once.
 */
export class IntrospectionCounter {
  private readonly counts = new Map<string, number>();
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(target: string): Promise<IntrospectionCounter> {
    let counter: IntrospectionCounter | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        const token = new URLSearchParams(body).get('token') ?? '';
        counter!.counts.set(token, (counter!.counts.get(token) ?? 0) + 1);
        const headers: Record<string, string> = {};
        for (const name of ['authorization', 'content-type', 'accept']) if (req.headers[name]) headers[name] = String(req.headers[name]);
        fetch(target, { method: 'POST', headers, body })
          .then(async (upstream) => {
            res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
            res.end(Buffer.from(await upstream.arrayBuffer()));
          })
          .catch(() => res.writeHead(502).end());
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    counter = new IntrospectionCounter(server, `http://127.0.0.1:${(server.address() as { port: number }).port}/introspect`);
    return counter;
  }

  /** How many times the AS was asked about `token`. */
  count(token: string): number {
    return this.counts.get(token) ?? 0;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export const get = (replica: Replica, token: string) => call(`${replica.url}/orders`, { authorization: `Bearer ${token}` });

/** Polls `replica` until it answers `status` for `token`; the ms it took, or undefined after `withinMs`. */
export async function timeUntil(replica: Replica, token: string, status: number, withinMs = 1000): Promise<number | undefined> {
  const t0 = performance.now();
  while (performance.now() - t0 < withinMs) {
    if ((await get(replica, token)).status === status) return performance.now() - t0;
    await sleep(10);
  }
  return undefined;
}

/** Whether the shared tier works again: a fresh token introspected on A is found by B without asking the AS. */
export async function sharedAgain(as: TestAuthorizationServer, counter: IntrospectionCounter, a: Replica, b: Replica): Promise<boolean> {
  const token = await as.issueToken({ scope: 'read' });
  if ((await get(a, token)).status !== 200) return false;
  await sleep(50); // the shared write is asynchronous
  return (await get(b, token)).status === 200 && counter.count(token) === 1;
}

/** What a soak saw. */
export interface SoakReport {
  requests: number;
  statuses: Record<number, number>;
  /** Valid (never revoked) tokens answered 401. */
  validRefused: number;
  revocations: number;
  /** evict() calls that rejected (each retried until it resolved). */
  evictRejections: number;
  /** Revocations the other replica never applied (still accepted 10 s after evict() resolved), or forgot later. */
  revocationsLost: number;
  /** Revocations the other replica applied more than 1 s after evict() resolved: how late, ms. */
  revocationsLateMs: number[];
  /** Slowest time from evict() resolving on A to 401 on B, ms. */
  slowestRevokeMs: number;
  /** Per fault: ms from injecting it to the topology reporting healthy, and from healthy to the shared tier working again. */
  faults: Array<{ fault: string; healthyAfterMs: number; recoveredAfterHealthyMs: number }>;
}

/**
 * Steady load on two replicas for `durationMs` (a pool of valid tokens on both, new tokens every 100 ms, one
 * revocation after another: AS revocation, `evict()` on A retried until it resolves, 401 awaited on B), with `faults`
 * injected at their times; after each, the time until the topology is healthy and until the shared tier works again.
 */
export async function soak(
  as: TestAuthorizationServer,
  counter: IntrospectionCounter,
  [a, b]: [Replica, Replica],
  durationMs: number,
  faults: Array<{ at: number; fault: string; inject: () => Promise<void>; healthy: () => Promise<void> }>,
): Promise<SoakReport> {
  const report: SoakReport = {
    requests: 0,
    statuses: {},
    validRefused: 0,
    revocations: 0,
    evictRejections: 0,
    revocationsLost: 0,
    revocationsLateMs: [],
    slowestRevokeMs: 0,
    faults: [],
  };
  const pool = await Promise.all(Array.from({ length: 20 }, () => as.issueToken({ scope: 'read' })));
  const revoked: string[] = [];
  const record = (status: number, valid: boolean) => {
    report.requests++;
    report.statuses[status] = (report.statuses[status] ?? 0) + 1;
    if (valid && status === 401) report.validRefused++;
  };
  const started = performance.now();
  const running = () => performance.now() - started < durationMs;
  const load = async (replica: Replica) => {
    for (let i = 0; running(); i++) record((await get(replica, pool[i % pool.length])).status, true);
  };
  const fresh = async () => {
    while (running()) {
      const token = await as.issueToken({ scope: 'read' });
      for (const replica of [a, b]) record((await get(replica, token)).status, true);
      await sleep(100);
    }
  };
  const revocations = async () => {
    while (running()) {
      const token = await as.issueToken({ scope: 'read' });
      for (const replica of [a, b]) record((await get(replica, token)).status, true);
      await as.revoke(token);
      for (;;) {
        try {
          await a.app.get(IntrospectionService).evict(token);
          break;
        } catch {
          report.evictRejections++;
          await sleep(100);
        }
      }
      report.revocations++;
      revoked.push(token);
      const took = await timeUntil(b, token, 401, 10_000);
      if (took === undefined) report.revocationsLost++;
      else if (took > 1000) report.revocationsLateMs.push(Math.round(took));
      else report.slowestRevokeMs = Math.max(report.slowestRevokeMs, took);
      await sleep(200);
    }
  };
  const chaos = async () => {
    for (const f of faults) {
      await sleep(Math.max(0, f.at - (performance.now() - started)));
      const t0 = performance.now();
      await f.inject();
      await f.healthy();
      const healthy = performance.now();
      while (!(await sharedAgain(as, counter, a, b)) && performance.now() - healthy < 30_000) await sleep(100);
      report.faults.push({ fault: f.fault, healthyAfterMs: Math.round(healthy - t0), recoveredAfterHealthyMs: Math.round(performance.now() - healthy) });
    }
  };
  await Promise.all([load(a), load(b), fresh(), revocations(), chaos()]);
  // Every revocation still holds on both replicas.
  for (const token of revoked) for (const replica of [a, b]) if ((await get(replica, token)).status !== 401) report.revocationsLost++;
  return report;
}
