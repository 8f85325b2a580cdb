/**
 * Breaker reaction (issue 18): how long requests stall at the start of an outage before the circuit
 * breaker opens and answers fail fast. A real authorization server (oidc-provider on 127.0.0.1)
 * behind a loopback proxy that misbehaves on demand; the module runs with its default options. 20
 * callers keep asking for one hot token that is not cached yet (single-flight shares each lookup),
 * the worst case: with many tokens, many lookups fail at once and the breaker learns sooner.
 * Measured from the moment the outage starts to the first `circuit_open` answer (a fast 503).
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { IntrospectionModule, IntrospectionService, type IntrospectionModuleOptions } from '../lib/index.js';
import { CLIENTS, EmbeddedAuthorizationServer } from '../sample/embedded-authorization-server.js';
import { ChaosProxy, type ChaosMode } from '../test/support/chaos-proxy.js';

/** The outage kinds measured, and the proxy mode that produces each. */
export const OUTAGES: ReadonlyArray<readonly [kind: string, mode: ChaosMode]> = [
  ['connection refused (AS stopped)', 'down'],
  ['black hole (accepts, never answers)', 'blackhole'],
  ['500 Internal Server Error', 'error500'],
  ['slow (answers after 5 s, beyond the attempt timeout)', 'slow'],
];

export interface BreakerReaction {
  kind: string;
  /** From the start of the outage to the first fast 503 (`circuit_open`), milliseconds; the cap if it never opened. */
  stalledMs: number;
  /** Requests answered (with a 503 after waiting) before the breaker opened. */
  stalledRequests: number;
  /** The longest of those waits, milliseconds. */
  slowestMs: number;
  /** Requests that reached the AS's address during the outage (refused connections cannot be counted). */
  asCalls: number;
  opened: boolean;
}

const CALLERS = 20;
const CAP_MS = 30_000;

async function engine(options: IntrospectionModuleOptions) {
  @Module({ imports: [IntrospectionModule.forRoot({ verifyOnStartup: false, ...options })] }) // the start-up check's call is not measured
  class BreakerBenchModule {}
  const app = await NestFactory.createApplicationContext(BreakerBenchModule, { logger: false });
  return { service: app.get(IntrospectionService), close: () => app.close() };
}

/**
 * Measures each outage kind once. `resilience` overrides the defaults (none: the defaults, which is
 * what the figure is about).
 */
export async function measureBreakerReaction(
  resilience?: IntrospectionModuleOptions['resilience'],
  outages: ReadonlyArray<readonly [string, ChaosMode]> = OUTAGES,
  warm = false,
): Promise<BreakerReaction[]> {
  const as = await EmbeddedAuthorizationServer.start();
  const proxy = await ChaosProxy.start(as.issuer);
  const figures: BreakerReaction[] = [];
  try {
    for (const [kind, mode] of outages) {
      await proxy.setMode('ok');
      const { service, close } = await engine({
        introspectionEndpoint: proxy.url('/token/introspection'),
        allowInsecureRequests: true,
        ...CLIENTS.basic,
        metrics: false,
        ...(resilience ? { resilience } : {}),
      });
      // The AS answered before the outage (connections open, breaker closed with successes behind it),
      // then was idle for a little over a second, as the old measure (issue 18, before) assumed. Successes
      // within the breaker's sampling window delay the ratio rule by a few calls: `warm` measures that.
      for (let i = 0; i < 5; i++) await service.introspect(await as.issueToken({ scope: 'read' }));
      const hot = await as.issueToken({ scope: 'read' });
      if (!warm) await new Promise((r) => setTimeout(r, 1100));
      await proxy.setMode(mode);
      const callsBefore = proxy.requests;
      const t0 = performance.now();
      let openedAt = 0;
      let stalled = 0;
      let slowest = 0;
      await Promise.all(
        Array.from({ length: CALLERS }, async () => {
          while (!openedAt && performance.now() - t0 < CAP_MS) {
            const started = performance.now();
            try {
              await service.introspect(hot);
            } catch (error) {
              if ((error as { reason?: string }).reason === 'circuit_open') {
                openedAt ||= performance.now();
                break;
              }
            }
            stalled++;
            slowest = Math.max(slowest, performance.now() - started);
          }
        }),
      );
      figures.push({
        kind,
        stalledMs: Math.round((openedAt || performance.now()) - t0),
        stalledRequests: stalled,
        slowestMs: Math.round(slowest),
        asCalls: proxy.requests - callsBefore,
        opened: openedAt > 0,
      });
      await proxy.setMode('ok');
      await close();
    }
  } finally {
    await proxy.stop();
    await as.stop();
  }
  return figures;
}

/**
 * The same measure on main's policy before issue 18 (breaker counting failed lookups after the
 * retries, first retry delay 100 ms; main 4cd5d32 with this file), for the bench's side-by-side row.
 */
export const BEFORE_MS: Readonly<Record<string, string>> = {
  down: '1,125 ms',
  blackhole: 'never within 30 s',
  error500: '1,210 ms',
  slow: 'never within 30 s',
};

/** Bench rows (label, figure, verdict) for `bench/run.ts`; the figures go to its results under `breakerReaction`. */
export async function breakerReactionRows(): Promise<{ rows: Array<[string, string, string]>; results: BreakerReaction[] }> {
  const results = await measureBreakerReaction();
  const rows = results.map((f, i): [string, string, string] => {
    const mode = OUTAGES[i][1];
    const verdict =
      mode === 'down'
        ? `< 250 ms: ${f.opened && f.stalledMs < 250 ? 'met' : 'NOT met'}`
        : mode === 'error500'
          ? '15 failed attempts in a row (1/3 each, as 5 failed lookups before): a failing node behind a load balancer cannot trip it'
          : `<= the deadline (5,000 ms, one lookup's 3 silent attempts): ${f.opened && f.stalledMs <= 5500 ? 'met' : 'NOT met'}`;
    return [
      `breaker reaction, AS ${f.kind}, default options: stalled time before the first fast 503 (${CALLERS} callers, one hot token)`,
      `${f.opened ? '' : 'never opened within '}${f.stalledMs} ms (${f.stalledRequests} requests answered slowly, the slowest ${f.slowestMs} ms; ${f.asCalls} AS calls); before: ${BEFORE_MS[mode]}`,
      verdict,
    ];
  });
  return { rows, results };
}

// `node .build/bench/breaker-reaction.js ['{"retries":1}' [down,error500]]`: print the figures for other
// settings or some outage kinds only.
if (process.argv[1]?.endsWith('breaker-reaction.js')) {
  const overrides = process.argv[2] ? (JSON.parse(process.argv[2]) as IntrospectionModuleOptions['resilience']) : undefined;
  const modes = process.argv[3]?.split(',');
  const warm = process.argv[4] === 'warm';
  measureBreakerReaction(overrides, modes ? OUTAGES.filter(([, mode]) => modes.includes(mode)) : OUTAGES, warm).then(
    (figures) => {
      for (const f of figures) console.log(JSON.stringify(f));
      process.exit(0);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
