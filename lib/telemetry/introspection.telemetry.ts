import { Logger } from '@nestjs/common';
import type { Attributes, Meter, MeterProvider } from '@opentelemetry/api';
import type { UnavailableReason } from '../errors/introspection.errors.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { BreakerState } from '../resilience/breaker-state.js';
import type { RevalidationKind, RevalidationOutcome, RevalidationReporter, RevalidationSkipReason } from '../cache/background-revalidator.js';
import { RateLimitedLogger } from '../utils/rate-limited-logger.js';
import { callHook, describeThrown } from './hook-emitter.js';
import type { IntrospectionEvents, OutboundTokenRefusedEvent, OutboundTokenUnavailableEvent } from './introspection-events.interface.js';
import { attributeCache, outboundAttributeCache, revalidationAttributeTable } from './telemetry-attributes.js';
import { BREAKER_VALUE, createInstruments, type Instruments } from './telemetry-instruments.js';

/** Name of the OpenTelemetry meter. */
export const METER_NAME = 'nestjs-token-introspection';

export type CacheResult = 'hit' | 'miss' | 'stale' | 'negative_hit';
export type GuardDecision = 'allowed' | 'missing' | 'malformed' | 'invalid' | 'insufficient_scope' | 'unavailable' | 'fail_open' | 'public';
export type LookupOutcome = 'active' | 'inactive' | 'error';

/**
 * Metrics (OpenTelemetry, optional), audit events and breaker-state logs, fed by every layer.
 * Without `@opentelemetry/api` installed, or without an SDK registered, recording is a no-op call.
 * Internal: users configure it through the `metrics` and `events` options.
 * Exported from the root (as a type) only for `TokenGuard` subclasses, which pass it on opaquely.
 * @beta Internal, ready for removal from the root exports in a major.
 */
export class IntrospectionTelemetry implements RevalidationReporter {
  readonly events: IntrospectionEvents;
  /** The OpenTelemetry instruments (the table in `telemetry-instruments.ts`); undefined without metrics. */
  private instruments?: Instruments;
  /** Attribute objects of outbound metrics, by backend (configured names only: bounded). */
  private readonly outboundAttributes = outboundAttributeCache();
  /** With `tenants`: `{ tenant }`, in every attribute set of this tenant's metrics (bounded: configured names only). */
  private readonly base?: Attributes;
  /** Built once: a skip is counted on the cache-hit path and must allocate nothing. */
  private readonly revalidationAttrs: ReturnType<typeof revalidationAttributeTable>;
  private breakerState: BreakerState = 'closed';
  private misconfiguration?: UnavailableReason;
  private readonly log = new RateLimitedLogger(new Logger('TokenIntrospection'));
  /** A user hook failed: logged (rate-limited), then ignored. */
  private readonly hookFailed = (name: string, error: unknown): void => {
    this.log.error(`hook:${name}`, () => `The ${name} hook failed (ignored): ${describeThrown(error)}`);
  };
  private readonly cacheAttrs: (result: CacheResult) => Attributes;
  private readonly decisionAttrs: (decision: GuardDecision) => Attributes;
  private readonly outcomeAttrs: (outcome: LookupOutcome) => Attributes;
  private readonly errorAttrs = new Map<UnavailableReason, Attributes>();
  private readonly reasonAttrs = new Map<string, Attributes>();
  private readonly stateAttrs: (state: BreakerState) => Attributes;

  constructor(private readonly options: ResolvedOptions) {
    this.events = options.events ?? {};
    this.base = options.tenant === undefined ? undefined : Object.freeze({ tenant: options.tenant });
    this.revalidationAttrs = revalidationAttributeTable(this.base);
    this.cacheAttrs = attributeCache<CacheResult>('result', this.base);
    this.decisionAttrs = attributeCache<GuardDecision>('decision', this.base);
    this.outcomeAttrs = attributeCache<LookupOutcome>('outcome', this.base);
    this.stateAttrs = attributeCache<BreakerState>('state', this.base);
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
    const instruments = (this.instruments = createInstruments(meter));
    // With `tenants` the module has no authorization server of its own: each tenant's telemetry reports its breaker and
    // configuration state (labelled); an unlabelled series here would always say "closed".
    if (this.options.tenants) return;
    instruments.breakerState.addCallback((result) => result.observe(BREAKER_VALUE[this.breakerState], this.base));
    instruments.configurationError.addCallback((result) =>
      this.misconfiguration ? result.observe(1, { ...this.base, 'error.type': this.misconfiguration }) : result.observe(0, this.base),
    );
  }

  /** A configuration error started (its reason) or ended (undefined). */
  configurationChanged(reason: UnavailableReason | undefined): void {
    this.misconfiguration = reason;
  }

  cacheLookup(result: CacheResult): void {
    this.instruments?.cacheLookups.add(1, this.cacheAttrs(result));
  }

  /** An active answer was not written to the shared store (see `token_introspection.cache.shared_writes_dropped`). */
  sharedWriteDropped(): void {
    this.instruments?.sharedWritesDropped.add(1, this.base);
  }

  /**
   * A guard decision; `reason` (an `InvalidTokenReason`, bounded) says why a token was refused; `tenant` (a configured
   * name, bounded) which tenant decided, with `tenants`.
   */
  decision(decision: GuardDecision, reason?: string, tenant?: string): void {
    const decisions = this.instruments?.decisions;
    if (!decisions) return;
    if (reason === undefined && tenant === undefined) return decisions.add(1, this.decisionAttrs(decision));
    const key = `${decision}\u0000${reason ?? ''}\u0000${tenant ?? ''}`;
    let attributes = this.reasonAttrs.get(key);
    if (!attributes) {
      const labels = { ...this.base, decision, ...(reason === undefined ? {} : { reason }), ...(tenant === undefined ? {} : { tenant }) };
      this.reasonAttrs.set(key, (attributes = Object.freeze(labels)));
    }
    decisions.add(1, attributes);
  }

  lookupStarted(): void {
    this.instruments?.inFlight.add(1, this.base);
  }

  lookupFinished(outcome: LookupOutcome, seconds: number, reason?: UnavailableReason): void {
    this.instruments?.inFlight.add(-1, this.base);
    let attributes = this.outcomeAttrs(outcome);
    if (reason) {
      let withReason = this.errorAttrs.get(reason);
      if (!withReason) this.errorAttrs.set(reason, (withReason = Object.freeze({ ...this.base, outcome, 'error.type': reason })));
      attributes = withReason;
    }
    this.instruments?.lookups.add(1, attributes);
    this.instruments?.lookupDuration.record(seconds, attributes);
  }

  /** One request to an outbound backend's token endpoint ended (`reason` when it failed). */
  outboundTokenRequest(backend: string, seconds: number, reason?: UnavailableReason): void {
    const attributes = this.outboundAttributes(backend, reason ? 'error' : 'success', reason);
    this.instruments?.outboundRequests.add(1, attributes);
    this.instruments?.outboundDuration.record(seconds, attributes);
  }

  /** A call got no outbound token (after retries and breaker). */
  outboundTokenUnavailable(event: OutboundTokenUnavailableEvent): void {
    this.instruments?.outboundUnavailable.add(1, this.outboundAttributes(event.backend, 'error', event.reason));
    this.emit('onOutboundTokenUnavailable', event);
  }

  /** A backend refused our token. */
  outboundTokenRefused(event: OutboundTokenRefusedEvent): void {
    this.instruments?.outboundRefusals.add(1, this.outboundAttributes(event.backend, event.renewal));
    this.emit('onOutboundTokenRefused', event);
  }

  revalidationStarted(kind: RevalidationKind): void {
    this.instruments?.revalidations.add(1, this.revalidationAttrs[kind].started);
  }

  revalidationSkipped(kind: RevalidationKind, reason: RevalidationSkipReason): void {
    this.instruments?.revalidations.add(1, this.revalidationAttrs[kind].skipped[reason]);
  }

  revalidationFinished(kind: RevalidationKind, outcome: RevalidationOutcome, sinceFetchSeconds?: number): void {
    this.instruments?.revalidations.add(1, this.revalidationAttrs[kind][outcome]);
    if (sinceFetchSeconds !== undefined) this.instruments?.revalidationTimeToRevoke.record(sinceFetchSeconds, this.revalidationAttrs[kind].kind);
  }

  /** A pushed token was handled: `outcome` accepted | ignored | refused | unavailable, `reason` the refusal's category or the event kind. */
  pushReceived(receiver: string, outcome: string, reason: string): void {
    this.instruments?.pushes.add(1, { receiver, outcome, reason });
  }

  /** Seconds from a revocation's issue time to its eviction everywhere (push receivers, re-checks). */
  timeToRevoke(mechanism: string, seconds: number): void {
    this.instruments?.revokeDelay.record(Math.max(0, seconds), { mechanism });
  }

  breakerChanged(state: BreakerState): void {
    const previous = this.breakerState;
    if (state === previous) return;
    this.breakerState = state;
    this.instruments?.transitions.add(1, this.stateAttrs(state));
    const of = this.options.tenant === undefined ? '' : ` of tenant '${this.options.tenant}'`;
    if (state === 'open') {
      new Logger('TokenIntrospection').warn(
        `Circuit breaker${of} OPEN: the authorization server keeps failing; lookups fail fast (503) until it is probed again.`,
      );
    } else if (state === 'closed' && previous !== 'closed') {
      new Logger('TokenIntrospection').log(`Circuit breaker${of} closed: the authorization server answers again.`);
    }
    this.emit('onCircuitStateChange', { state, previous });
  }

  /**
   * Calls a user hook without waiting for it. A hook that throws, or returns a promise that rejects,
   * is logged (rate-limited) and ignored: the request goes on unaffected and no rejection is left unhandled.
   */
  emit<K extends keyof IntrospectionEvents>(name: K, event: Parameters<NonNullable<IntrospectionEvents[K]>>[0]): void {
    // With `tenants`, each event says whose it is (only then: no copy for a single tenant).
    callHook(this.events, name, this.base && this.events[name] ? { ...event, tenant: this.options.tenant } : event, this.hookFailed);
  }
}
