import { Logger } from '@nestjs/common';
import type { Attributes, Counter, Histogram, Meter, MeterProvider, UpDownCounter } from '@opentelemetry/api';
import type { UnavailableReason } from '../errors/introspection.errors.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { BreakerState } from '../resilience/resilience.policy.js';
import type {
  RevalidationKind,
  RevalidationOutcome,
  RevalidationReporter,
  RevalidationSkipReason,
} from '../cache/background-revalidator.js';
import { RateLimitedLogger } from '../utils/rate-limited-logger.js';
import type { IntrospectionEvents, OutboundTokenRefusedEvent, OutboundTokenUnavailableEvent } from './introspection-events.interface.js';

/** Name of the OpenTelemetry meter. */
export const METER_NAME = 'nestjs-token-introspection';

export type CacheResult = 'hit' | 'miss' | 'stale' | 'negative_hit';
export type GuardDecision =
  | 'allowed'
  | 'missing'
  | 'malformed'
  | 'invalid'
  | 'insufficient_scope'
  | 'unavailable'
  | 'fail_open'
  | 'public';
export type LookupOutcome = 'active' | 'inactive' | 'error';

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2, isolated: 3, disabled: -1 };

/** Attribute objects are built once: recording a metric allocates nothing. */
function attributeCache<K extends string>(key: string) {
  const cache = new Map<K, Attributes>();
  return (value: K): Attributes => {
    let attributes = cache.get(value);
    if (!attributes) cache.set(value, (attributes = Object.freeze({ [key]: value })));
    return attributes;
  };
}

/**
 * Metrics (OpenTelemetry, optional), audit events and breaker-state logs, fed by every layer.
 * Without `@opentelemetry/api` installed, or without an SDK registered, recording is a no-op call.
 * Internal: users configure it through the `metrics` and `events` options.
 * Exported from the root (as a type) only for `TokenGuard` subclasses, which pass it on opaquely.
 * @beta Internal, ready for removal from the root exports in a major.
 */
export class IntrospectionTelemetry implements RevalidationReporter {
  readonly events: IntrospectionEvents;
  private lookups?: Counter;
  private lookupDuration?: Histogram;
  private inFlight?: UpDownCounter;
  private cacheLookups?: Counter;
  private decisions?: Counter;
  private transitions?: Counter;
  private outboundRequests?: Counter;
  private outboundDuration?: Histogram;
  private outboundUnavailable?: Counter;
  private outboundRefusals?: Counter;
  /** Attribute objects of outbound metrics, by backend (configured names only: bounded). */
  private readonly outboundAttrs = new Map<string, Attributes>();
  private revalidations?: Counter;
  private revalidationTimeToRevoke?: Histogram;
  /** Built once: a skip is counted on the cache-hit path and must allocate nothing. */
  private readonly revalidationAttrs = revalidationAttributeTable();
  private pushes?: Counter;
  private revokeDelay?: Histogram;
  private breakerState: BreakerState = 'closed';
  private misconfiguration?: UnavailableReason;
  private readonly log = new RateLimitedLogger(new Logger('TokenIntrospection'));
  private readonly cacheAttrs = attributeCache<CacheResult>('result');
  private readonly decisionAttrs = attributeCache<GuardDecision>('decision');
  private readonly outcomeAttrs = attributeCache<LookupOutcome>('outcome');
  private readonly errorAttrs = new Map<UnavailableReason, Attributes>();
  private readonly reasonAttrs = new Map<string, Attributes>();
  private readonly stateAttrs = attributeCache<BreakerState>('state');

  constructor(private readonly options: ResolvedOptions) {
    this.events = options.events ?? {};
  }

  /** Creates the instruments (after the OpenTelemetry API, if installed, is loaded). */
  async init(): Promise<this> {
    if (this.options.metrics === false) return this;
    let provider = this.options.metrics?.meterProvider as MeterProvider | undefined;
    if (!provider) {
      try {
        provider = (await import('@opentelemetry/api')).metrics.getMeterProvider();
      } catch {
        return this; // optional peer not installed: no metrics
      }
    }
    this.createInstruments(provider.getMeter(METER_NAME));
    return this;
  }

  private createInstruments(meter: Meter): void {
    this.lookups = meter.createCounter('token_introspection.lookups', {
      description: 'Lookups at the authorization server (after retries), by outcome and error type.',
      unit: '{lookup}',
    });
    this.lookupDuration = meter.createHistogram('token_introspection.lookup.duration', {
      description: 'Duration of lookups at the authorization server, retries included.',
      unit: 's',
      advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] },
    });
    this.inFlight = meter.createUpDownCounter('token_introspection.lookups.in_flight', {
      description: 'Lookups at the authorization server in flight.',
      unit: '{lookup}',
    });
    this.cacheLookups = meter.createCounter('token_introspection.cache.lookups', {
      description: 'Cache lookups by result: hit, miss, stale (served during an outage), negative_hit.',
      unit: '{lookup}',
    });
    this.decisions = meter.createCounter('token_introspection.guard.decisions', {
      description: 'TokenGuard decisions by reason (refused tokens also by `reason`: audience_mismatch, inactive, ...).',
      unit: '{request}',
    });
    this.transitions = meter.createCounter('token_introspection.circuit_breaker.transitions', {
      description: 'Circuit-breaker state changes, by new state.',
      unit: '{transition}',
    });
    this.outboundRequests = meter.createCounter('token_introspection.outbound.token_requests', {
      description: "Requests to an outbound backend's token endpoint (each attempt, background renewals included), by backend, outcome and error type.",
      unit: '{request}',
    });
    this.outboundDuration = meter.createHistogram('token_introspection.outbound.token_request.duration', {
      description: "Duration of one request to an outbound backend's token endpoint.",
      unit: 's',
      advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] },
    });
    this.outboundUnavailable = meter.createCounter('token_introspection.outbound.token_unavailable', {
      description: 'Calls that got no outbound token after the resilience policies (the backend was not called), by backend and error type.',
      unit: '{call}',
    });
    this.outboundRefusals = meter.createCounter('token_introspection.outbound.refusals', {
      description: "Backends refusing this API's own token (401, or 403 invalid_token), by backend and renewal (renewed, already_renewed, rate_limited).",
      unit: '{response}',
    });
    this.revalidations = meter.createCounter('token_introspection.revalidations', {
      description:
        'Background re-introspections of cached active results, by kind (refresh: refresh-ahead, recheck: adaptive re-check) and ' +
        'outcome (started; skipped with a reason: breaker, concurrency, rate, superseded, shutdown; active, revoked, rejected, error).',
      unit: '{lookup}',
    });
    this.revalidationTimeToRevoke = meter.createHistogram('token_introspection.revalidation.time_to_revoke', {
      description:
        'For revocations found by a background lookup: time from the start of the lookup whose active answer was cached to the ' +
        'lookup that found the token inactive. An upper bound of the time the revoked token was still accepted from that entry.',
      unit: 's',
      advice: { explicitBucketBoundaries: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600] },
    });
    this.pushes = meter.createCounter('token_introspection.push.received', {
      description: 'Pushed revocations (Shared Signals SETs, back-channel logout tokens) by receiver, outcome and reason.',
      unit: '{token}',
    });
    this.revokeDelay = meter.createHistogram('token_introspection.time_to_revoke', {
      description: "Time from a revocation's issue time at the sender (the pushed token's iat, whole seconds) to the eviction's completion, by mechanism.",
      unit: 's',
      advice: { explicitBucketBoundaries: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300] },
    });
    meter
      .createObservableGauge('token_introspection.circuit_breaker.state', {
        description: 'Circuit-breaker state: 0 closed, 1 half-open, 2 open, 3 isolated, -1 disabled.',
      })
      .addCallback((result) => result.observe(BREAKER_VALUE[this.breakerState]));
    meter
      .createObservableGauge('token_introspection.configuration_error', {
        description: 'A configuration error in force (1, by error.type: discovery_misconfigured, client_authentication_failed, unexpected_status); 0 when none.',
      })
      .addCallback((result) => (this.misconfiguration ? result.observe(1, { 'error.type': this.misconfiguration }) : result.observe(0)));
  }

  /** A configuration error started (its reason) or ended (undefined). */
  configurationChanged(reason: UnavailableReason | undefined): void {
    this.misconfiguration = reason;
  }

  cacheLookup(result: CacheResult): void {
    this.cacheLookups?.add(1, this.cacheAttrs(result));
  }

  /** A guard decision; `reason` (an `InvalidTokenReason`, bounded) says why a token was refused. */
  decision(decision: GuardDecision, reason?: string): void {
    if (!this.decisions) return;
    if (reason === undefined) return this.decisions.add(1, this.decisionAttrs(decision));
    const key = `${decision}\u0000${reason}`;
    let attributes = this.reasonAttrs.get(key);
    if (!attributes) this.reasonAttrs.set(key, (attributes = Object.freeze({ decision, reason })));
    this.decisions.add(1, attributes);
  }

  lookupStarted(): void {
    this.inFlight?.add(1);
  }

  lookupFinished(outcome: LookupOutcome, seconds: number, reason?: UnavailableReason): void {
    this.inFlight?.add(-1);
    let attributes = this.outcomeAttrs(outcome);
    if (reason) {
      let withReason = this.errorAttrs.get(reason);
      if (!withReason) this.errorAttrs.set(reason, (withReason = Object.freeze({ outcome, 'error.type': reason })));
      attributes = withReason;
    }
    this.lookups?.add(1, attributes);
    this.lookupDuration?.record(seconds, attributes);
  }

  /** One request to an outbound backend's token endpoint ended (`reason` when it failed). */
  outboundTokenRequest(backend: string, seconds: number, reason?: UnavailableReason): void {
    const attributes = this.outboundAttributes(backend, reason ? 'error' : 'success', reason);
    this.outboundRequests?.add(1, attributes);
    this.outboundDuration?.record(seconds, attributes);
  }

  /** A call got no outbound token (after retries and breaker). */
  outboundTokenUnavailable(event: OutboundTokenUnavailableEvent): void {
    this.outboundUnavailable?.add(1, this.outboundAttributes(event.backend, 'error', event.reason));
    this.emit('onOutboundTokenUnavailable', event);
  }

  /** A backend refused our token. */
  outboundTokenRefused(event: OutboundTokenRefusedEvent): void {
    this.outboundRefusals?.add(1, this.outboundAttributes(event.backend, event.renewal));
    this.emit('onOutboundTokenRefused', event);
  }

  private outboundAttributes(backend: string, outcome: string, reason?: string): Attributes {
    const key = `${outcome}\u0000${reason ?? ''}\u0000${backend}`;
    let attributes = this.outboundAttrs.get(key);
    if (!attributes) {
      const values: Record<string, string> = { backend, [outcome === 'success' || outcome === 'error' ? 'outcome' : 'renewal']: outcome };
      if (reason) values['error.type'] = reason;
      this.outboundAttrs.set(key, (attributes = Object.freeze(values)));
    }
    return attributes;
  }

  revalidationStarted(kind: RevalidationKind): void {
    this.revalidations?.add(1, this.revalidationAttrs[kind].started);
  }

  revalidationSkipped(kind: RevalidationKind, reason: RevalidationSkipReason): void {
    this.revalidations?.add(1, this.revalidationAttrs[kind].skipped[reason]);
  }

  revalidationFinished(kind: RevalidationKind, outcome: RevalidationOutcome, sinceFetchSeconds?: number): void {
    this.revalidations?.add(1, this.revalidationAttrs[kind][outcome]);
    if (sinceFetchSeconds !== undefined) this.revalidationTimeToRevoke?.record(sinceFetchSeconds, this.revalidationAttrs[kind].kind);
  }

  /** A pushed token was handled: `outcome` accepted | ignored | refused | unavailable, `reason` the refusal's category or the event kind. */
  pushReceived(receiver: string, outcome: string, reason: string): void {
    this.pushes?.add(1, { receiver, outcome, reason });
  }

  /** Seconds from a revocation's issue time to its eviction everywhere (push receivers, re-checks). */
  timeToRevoke(mechanism: string, seconds: number): void {
    this.revokeDelay?.record(Math.max(0, seconds), { mechanism });
  }

  breakerChanged(state: BreakerState): void {
    const previous = this.breakerState;
    if (state === previous) return;
    this.breakerState = state;
    this.transitions?.add(1, this.stateAttrs(state));
    if (state === 'open') {
      new Logger('TokenIntrospection').warn(
        'Circuit breaker OPEN: the authorization server keeps failing; lookups fail fast (503) until it is probed again.',
      );
    } else if (state === 'closed' && previous !== 'closed') {
      new Logger('TokenIntrospection').log('Circuit breaker closed: the authorization server answers again.');
    }
    this.emit('onCircuitStateChange', { state, previous });
  }

  /**
   * Calls a user hook without waiting for it. A hook that throws, or returns a promise that rejects,
   * is logged (rate-limited) and ignored: the request goes on unaffected and no rejection is left unhandled.
   */
  emit<K extends keyof IntrospectionEvents>(name: K, event: Parameters<NonNullable<IntrospectionEvents[K]>>[0]): void {
    const hook = this.events[name] as ((e: typeof event) => unknown) | undefined;
    if (!hook) return;
    try {
      const returned = hook.call(this.events, event);
      if (typeof (returned as PromiseLike<unknown> | undefined)?.then === 'function') {
        (returned as PromiseLike<unknown>).then(undefined, (error: unknown) => this.hookFailed(name, error));
      }
    } catch (error) {
      this.hookFailed(name, error);
    }
  }

  private hookFailed(name: string, error: unknown): void {
    this.log.error(`hook:${name}`, () => `The ${name} hook failed (ignored): ${describeThrown(error)}`);
  }
}

const SKIP_REASONS: readonly RevalidationSkipReason[] = ['breaker', 'concurrency', 'rate', 'superseded', 'shutdown'];
const OUTCOMES: readonly RevalidationOutcome[] = ['active', 'revoked', 'rejected', 'error'];

type RevalidationAttributes = Record<RevalidationOutcome | 'started' | 'kind', Attributes> & {
  skipped: Record<RevalidationSkipReason, Attributes>;
};

function revalidationAttributeTable(): Record<RevalidationKind, RevalidationAttributes> {
  const forKind = (kind: RevalidationKind): RevalidationAttributes => {
    const of = <K extends string>(keys: readonly K[], make: (key: K) => Attributes) =>
      Object.fromEntries(keys.map((key) => [key, Object.freeze(make(key))])) as Record<K, Attributes>;
    return {
      ...of(OUTCOMES, (outcome) => ({ kind, outcome })),
      kind: Object.freeze({ kind }),
      started: Object.freeze({ kind, outcome: 'started' }),
      skipped: of(SKIP_REASONS, (reason) => ({ kind, outcome: 'skipped', reason })),
    };
  };
  return { refresh: forKind('refresh'), recheck: forKind('recheck') };
}

/** A thrown value as text, whatever it is (even an object without a string form must not break the request). */
function describeThrown(error: unknown): string {
  try {
    const message = (error as Error)?.message;
    return typeof message === 'string' ? message : String(error);
  } catch {
    return Object.prototype.toString.call(error);
  }
}
