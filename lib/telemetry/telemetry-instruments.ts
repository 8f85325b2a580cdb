import type { Counter, Histogram, Meter, MetricAdvice, ObservableGauge, UpDownCounter } from '@opentelemetry/api';
import type { BreakerState } from '../resilience/breaker-state.js';

/** One OpenTelemetry instrument: what kind, its name, unit and description, and bucket advice for histograms. */
interface InstrumentSpec {
  readonly kind: 'counter' | 'histogram' | 'upDownCounter' | 'gauge';
  readonly name: string;
  readonly description: string;
  readonly unit?: string;
  readonly advice?: MetricAdvice;
}

/**
 * Every instrument the library records, in the order they are created. Names, units and descriptions
 * are part of the public contract (dashboards and alerts use them): change none of them.
 */
export const INSTRUMENTS = {
  lookups: {
    kind: 'counter',
    name: 'token_introspection.lookups',
    description: 'Lookups at the authorization server (after retries), by outcome and error type.',
    unit: '{lookup}',
  },
  lookupDuration: {
    kind: 'histogram',
    name: 'token_introspection.lookup.duration',
    description: 'Duration of lookups at the authorization server, retries included.',
    unit: 's',
    advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] },
  },
  inFlight: {
    kind: 'upDownCounter',
    name: 'token_introspection.lookups.in_flight',
    description: 'Lookups at the authorization server in flight.',
    unit: '{lookup}',
  },
  cacheLookups: {
    kind: 'counter',
    name: 'token_introspection.cache.lookups',
    description: 'Cache lookups by result: hit, miss, stale (served during an outage), negative_hit.',
    unit: '{lookup}',
  },
  sharedWritesDropped: {
    kind: 'counter',
    name: 'token_introspection.cache.shared_writes_dropped',
    description:
      'Active answers not written to the shared store (it failed or timed out): with `cache.redis` neither the entry nor its index ' +
      'entries were written; the answer stays in process memory only.',
    unit: '{entry}',
  },
  decisions: {
    kind: 'counter',
    name: 'token_introspection.guard.decisions',
    description: 'TokenGuard decisions by reason (refused tokens also by `reason`: audience_mismatch, inactive, ...).',
    unit: '{request}',
  },
  transitions: {
    kind: 'counter',
    name: 'token_introspection.circuit_breaker.transitions',
    description: 'Circuit-breaker state changes, by new state.',
    unit: '{transition}',
  },
  outboundRequests: {
    kind: 'counter',
    name: 'token_introspection.outbound.token_requests',
    description: "Requests to an outbound backend's token endpoint (each attempt, background renewals included), by backend, outcome and error type.",
    unit: '{request}',
  },
  outboundDuration: {
    kind: 'histogram',
    name: 'token_introspection.outbound.token_request.duration',
    description: "Duration of one request to an outbound backend's token endpoint.",
    unit: 's',
    advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] },
  },
  outboundUnavailable: {
    kind: 'counter',
    name: 'token_introspection.outbound.token_unavailable',
    description: 'Calls that got no outbound token after the resilience policies (the backend was not called), by backend and error type.',
    unit: '{call}',
  },
  outboundRefusals: {
    kind: 'counter',
    name: 'token_introspection.outbound.refusals',
    description: "Backends refusing this API's own token (401, or 403 invalid_token), by backend and renewal (renewed, already_renewed, rate_limited).",
    unit: '{response}',
  },
  revalidations: {
    kind: 'counter',
    name: 'token_introspection.revalidations',
    description:
      'Background re-introspections of cached active results, by kind (refresh: refresh-ahead, recheck: adaptive re-check) and ' +
      'outcome (started; skipped with a reason: breaker, concurrency, rate, superseded, shutdown; active, revoked, rejected, error).',
    unit: '{lookup}',
  },
  revalidationTimeToRevoke: {
    kind: 'histogram',
    name: 'token_introspection.revalidation.time_to_revoke',
    description:
      'For revocations found by a background lookup: time from the start of the lookup whose active answer was cached to the ' +
      'lookup that found the token inactive. An upper bound of the time the revoked token was still accepted from that entry.',
    unit: 's',
    advice: { explicitBucketBoundaries: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600] },
  },
  pushes: {
    kind: 'counter',
    name: 'token_introspection.push.received',
    description: 'Pushed revocations (Shared Signals SETs, back-channel logout tokens) by receiver, outcome and reason.',
    unit: '{token}',
  },
  revokeDelay: {
    kind: 'histogram',
    name: 'token_introspection.time_to_revoke',
    description: "Time from a revocation's issue time at the sender (the pushed token's iat, whole seconds) to the eviction's completion, by mechanism.",
    unit: 's',
    advice: { explicitBucketBoundaries: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300] },
  },
  breakerState: {
    kind: 'gauge',
    name: 'token_introspection.circuit_breaker.state',
    description: 'Circuit-breaker state: 0 closed, 1 half-open, 2 open, 3 isolated, -1 disabled.',
  },
  configurationError: {
    kind: 'gauge',
    name: 'token_introspection.configuration_error',
    description: 'A configuration error in force (1, by error.type: discovery_misconfigured, client_authentication_failed, unexpected_status); 0 when none.',
  },
} satisfies Record<string, InstrumentSpec>;

/** The value the `token_introspection.circuit_breaker.state` gauge reports for each state. */
export const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2, isolated: 3, disabled: -1 };

interface InstrumentKinds {
  counter: Counter;
  histogram: Histogram;
  upDownCounter: UpDownCounter;
  gauge: ObservableGauge;
}

/** The created instruments, by their key in {@link INSTRUMENTS}. */
export type Instruments = { readonly [K in keyof typeof INSTRUMENTS]: InstrumentKinds[(typeof INSTRUMENTS)[K]['kind']] };

type Options = Omit<InstrumentSpec, 'kind' | 'name'>;
const CREATE: { [K in InstrumentSpec['kind']]: (meter: Meter, name: string, options: Options) => InstrumentKinds[K] } = {
  counter: (meter, name, options) => meter.createCounter(name, options),
  histogram: (meter, name, options) => meter.createHistogram(name, options),
  upDownCounter: (meter, name, options) => meter.createUpDownCounter(name, options),
  gauge: (meter, name, options) => meter.createObservableGauge(name, options),
};

/** Creates every instrument of {@link INSTRUMENTS} on `meter`, in table order. */
export function createInstruments(meter: Meter): Instruments {
  const created: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(INSTRUMENTS) as Array<[string, InstrumentSpec]>) {
    const { kind, name, ...options } = spec;
    created[key] = CREATE[kind](meter, name, options);
  }
  return created as Instruments;
}
