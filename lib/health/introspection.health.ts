import { Inject, Injectable, Logger, Optional, type OnApplicationBootstrap } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { TOKEN_REJECTED } from '../client/introspection-response.js';
import { IntrospectionClient } from '../client/introspection.client.js';
import { AuthorizationServerUnavailableError, IntrospectionConfigurationError } from '../errors/introspection.errors.js';
import { AUTHORIZATION_SERVER_KEYS, RESOLVED_OPTIONS, TENANT_HEALTH } from '../introspection.constants.js';
import { worstBreakerState } from '../resilience/breaker-state.js';
import type { HealthContributor, KeysHealth } from '../ports.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { ResiliencePolicy, type BreakerState } from '../resilience/resilience.policy.js';

/**
 * A Terminus health indicator result: `{ [key]: { status, ...details } }`. Its `status` is typed with
 * the values every supported Terminus accepts (`'up' | 'down'`), so `() => indicator.isHealthy()` fits
 * `HealthCheckService.check()` on `@nestjs/terminus` 11 and 12 alike; at run time Terminus 12 also
 * reports `'degraded'` (a slow AS, HTTP 200). `probe()` gives the precise `AuthorizationServerHealth`.
 */
export type HealthIndicatorResult = Record<string, { status: 'up' | 'down'; [detail: string]: unknown }>;

/** Details reported under the indicator's key. */
export interface AuthorizationServerHealth {
  status: 'up' | 'down' | 'degraded';
  /** Circuit-breaker state when the probe finished. */
  breaker: BreakerState;
  /** Round trip of the probe, milliseconds (absent when it did not reach the network). */
  latencyMs?: number;
  /** Why it is down (an `UnavailableReason`), or `slow` when degraded. */
  reason?: string;
  message?: string;
  /** When the probe ran (ISO 8601); results are reused for `health.cacheMs`. */
  checkedAt: string;
  /** The key endpoint (JWT validation, RFC 9701), when used: `stale` degrades, `down` fails the check. */
  keys?: KeysHealth;
  /**
   * With `tenants`: each tenant's own health, by name. The whole is down when any tenant is (`health.readiness: 'all'`,
   * the default) or when every one is (`'any'`), else degraded when any tenant is not up; `breaker` is the worst tenant's.
   */
  tenants?: Record<string, AuthorizationServerHealth>;
}

/** The start-up check's verdict (`IntrospectionHealthIndicator.verifyConfiguration()`). */
export interface StartupVerdict {
  ok: boolean;
  /** `misconfigured`: a configuration error, with what to change; `unreachable`: no verdict, the AS did not answer. */
  status: 'ok' | 'misconfigured' | 'unreachable';
  /** The `UnavailableReason` when not ok. */
  reason?: string;
  message: string;
}

/** What to change, by failure, for the start-up check's verdict. */
const STARTUP_HINTS: Partial<Record<AuthorizationServerUnavailableError['reason'], string>> = {
  discovery_failed: 'The well-known metadata of `issuer` could not be read (no answer, or a server error).',
  connection_failed: 'Check the host and port of the endpoint, and that this network can reach it.',
  timeout: 'The authorization server is slow or unreachable from here.',
  invalid_response: 'Something answered that is not an RFC 7662 endpoint (a proxy page?): check the URL.',
};

type TerminusSession = {
  up(data: object): HealthIndicatorResult;
  down(data: object): HealthIndicatorResult;
  degraded?(data: object): HealthIndicatorResult;
};
type TerminusService = { check(key: string): TerminusSession };

/**
 * Reachability of the authorization server, for readiness probes (`@nestjs/terminus` 11 or 12).
 * The probe introspects a random dummy token — the cheapest honest check: it proves the endpoint
 * answers *and* accepts our credentials — through the circuit breaker, with its own short timeout.
 * Results are reused for a few seconds so frequent probes never hammer the AS.
 *
 * Use it for **readiness**, never for liveness: an AS outage must not restart every pod.
 *
 * ```ts
 * @Get('ready') @HealthCheck()
 * ready() { return this.health.check([() => this.authorizationServer.isHealthy()]); }
 * ```
 */
@Injectable()
export class IntrospectionHealthIndicator implements OnApplicationBootstrap {
  private last?: { at: number; outcome: Promise<AuthorizationServerHealth> };
  private terminus?: Promise<TerminusService | undefined>;

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    private readonly client: IntrospectionClient,
    private readonly resilience: ResiliencePolicy,
    private readonly moduleRef: ModuleRef,
    @Optional() @Inject(AUTHORIZATION_SERVER_KEYS) private readonly keys?: HealthContributor | null,
    /** With `tenants`: each tenant's indicator; this one then reports them all. */
    @Optional() @Inject(TENANT_HEALTH) private readonly tenants?: ReadonlyMap<string, IntrospectionHealthIndicator> | null,
  ) {}

  /**
   * Up when the authorization server answered the probe; `degraded` (Terminus 12; `up` on 11) when
   * it answered slower than `health.slowMs`; down when it did not answer within
   * `health.probeTimeoutMs`, rejected our credentials, or the circuit breaker is open.
   */
  async isHealthy(key = 'authorization-server'): Promise<HealthIndicatorResult> {
    const { status, ...details } = await this.probe();
    const session = (await this.terminusService())?.check(key);
    if (!session) return { [key]: { status, ...details } } as HealthIndicatorResult;
    if (status === 'degraded') return session.degraded ? session.degraded(details) : session.up(details);
    return status === 'up' ? session.up(details) : session.down(details);
  }

  /**
   * The start-up check (`verifyOnStartup`, on by default): in the background, or — with `'fatal'` — awaited, so a
   * configuration verdict stops start-up. An authorization server that is merely unreachable never does.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (this.tenants) return void (await Promise.all([...this.tenants.values()].map((tenant) => tenant.onApplicationBootstrap())));
    const mode = this.options.verifyOnStartup;
    if (mode === false || !this.client.verifiesOnStartup) return;
    if (mode !== 'fatal') return void this.verifyConfiguration();
    const verdict = await this.verifyConfiguration();
    if (verdict.status === 'misconfigured') {
      throw new IntrospectionConfigurationError(`The start-up check found a configuration error (${verdict.reason}): ${verdict.message}`);
    }
  }

  /**
   * Introspects a token nobody holds once — directly, outside the circuit breaker — and logs a verdict: `ok` (the
   * endpoint answers and accepts our credentials), `misconfigured` (what is wrong and what to change: the issuer,
   * the discovery document, the credentials, the endpoint), or `unreachable` (no verdict on the configuration: the
   * AS did not answer; start-up goes on and lookups will try again). Resolves to the verdict; never rejects.
   */
  async verifyConfiguration(): Promise<StartupVerdict> {
    const log = new Logger('TokenIntrospection');
    const started = performance.now();
    let verdict: StartupVerdict;
    try {
      const response = await this.client.introspect(this.client.probeToken, AbortSignal.timeout(this.options.resilience.attemptTimeoutMs));
      const where = this.client.endpoints.known()?.introspectionEndpoint.href ?? 'the introspection endpoint';
      verdict =
        TOKEN_REJECTED in response
          ? {
              ok: false,
              status: 'misconfigured',
              reason: 'unexpected_status',
              message: `${where} refused to introspect a token nobody holds (${String(response[TOKEN_REJECTED])}) instead of answering active: false. Check \`clientAuthMethod\` and that the URL is the RFC 7662 endpoint.`,
            }
          : { ok: true, status: 'ok', message: `${where} answered in ${Math.round(performance.now() - started)} ms and accepted our client credentials.` };
    } catch (error) {
      const e = error instanceof AuthorizationServerUnavailableError ? error : undefined;
      const reason = e?.reason ?? 'unexpected_error';
      const hint = STARTUP_HINTS[reason] ?? '';
      const message = `${(error as Error)?.message ?? String(error)}${hint ? ` ${hint}` : ''}`;
      verdict = { ok: false, status: e?.configurationError ? 'misconfigured' : 'unreachable', reason, message };
    }
    if (verdict.status === 'ok') log.log(`Start-up check passed: ${verdict.message}`);
    else if (verdict.status === 'misconfigured') {
      log.error(
        `Start-up check: MISCONFIGURED (${verdict.reason}): ${verdict.message} Lookups get 503 until this is fixed (set \`verifyOnStartup: 'fatal'\` to stop start-up instead).`,
      );
    } else {
      log.warn(
        `Start-up check: the authorization server could not be reached (${verdict.reason}): ${verdict.message} No verdict on the configuration; start-up goes on and lookups will try again.`,
      );
    }
    return verdict;
  }

  /** The latest probe outcome (cached for `health.cacheMs`; concurrent callers share one probe). */
  probe(): Promise<AuthorizationServerHealth> {
    if (this.tenants) return this.probeTenants(this.tenants);
    const now = Date.now();
    if (this.last && now - this.last.at < this.options.health.cacheMs) return this.last.outcome;
    const outcome = this.keys ? this.runProbe().then((health) => this.withKeys(health, this.keys!)) : this.runProbe();
    this.last = { at: now, outcome };
    return outcome;
  }

  /** Every tenant's probe (each cached for `health.cacheMs`), and the rule of `health.readiness` over them. */
  private async probeTenants(tenants: ReadonlyMap<string, IntrospectionHealthIndicator>): Promise<AuthorizationServerHealth> {
    const entries = await Promise.all([...tenants].map(async ([name, tenant]) => [name, await tenant.probe()] as const));
    const down = entries.filter(([, health]) => health.status === 'down').map(([name]) => name);
    const ready = this.options.tenants?.readiness === 'any' ? down.length < entries.length : down.length === 0;
    return {
      status: !ready ? 'down' : entries.every(([, health]) => health.status === 'up') ? 'up' : 'degraded',
      breaker: worstBreakerState(entries.map(([, health]) => health.breaker)),
      ...(down.length > 0 ? { reason: 'tenant_down', message: `The authorization server of tenant ${down.map((n) => `'${n}'`).join(', ')} is down.` } : {}),
      checkedAt: new Date().toISOString(),
      tenants: Object.fromEntries(entries),
    };
  }

  private async runProbe(): Promise<AuthorizationServerHealth> {
    const started = performance.now();
    const checkedAt = new Date().toISOString();
    try {
      const response = await this.resilience.probe((signal) => this.client.introspect(this.client.probeToken, signal), this.options.health.probeTimeoutMs);
      const latencyMs = Math.round(performance.now() - started);
      if (TOKEN_REJECTED in response) {
        // A healthy endpoint answers `active: false` for an unknown opaque string; a 4xx means it refuses our requests.
        return {
          status: 'down',
          breaker: this.resilience.state,
          latencyMs,
          reason: 'unexpected_status',
          message:
            `The introspection endpoint refused the probe (${String(response[TOKEN_REJECTED])}) instead of answering active: false: ` +
            'check `clientAuthMethod` and the endpoint URL.',
          checkedAt,
        };
      }
      const slow = latencyMs > this.options.health.slowMs;
      return {
        status: slow ? 'degraded' : 'up',
        breaker: this.resilience.state,
        latencyMs,
        ...(slow ? { reason: 'slow', message: `The authorization server answered in ${latencyMs} ms (slow above ${this.options.health.slowMs} ms).` } : {}),
        checkedAt,
      };
    } catch (error) {
      const e =
        error instanceof AuthorizationServerUnavailableError
          ? error
          : new AuthorizationServerUnavailableError('unexpected_error', 1, String((error as Error)?.message ?? error));
      return {
        // The AS answered 429 with Retry-After: it is up, asking us to slow down (a junk flood can cause
        // that). Taking every replica out of rotation, public routes included, would not help: degraded.
        status: e.reason === 'rate_limited' ? 'degraded' : 'down',
        breaker: this.resilience.state,
        ...(e.reason === 'circuit_open' ? {} : { latencyMs: Math.round(performance.now() - started) }),
        reason: e.reason,
        message: e.message,
        checkedAt,
      };
    }
  }

  /** Adds the key endpoint: keys past their freshness are fetched (through the breaker) before reporting. */
  private async withKeys(health: AuthorizationServerHealth, keys: HealthContributor): Promise<AuthorizationServerHealth> {
    if (keys.health().status !== 'up') {
      await this.resilience.probe((signal) => keys.refresh({ signal }), this.options.health.probeTimeoutMs).catch(() => undefined);
    }
    const state = keys.health();
    if (state.status === 'down' || state.status === 'unknown') {
      return {
        ...health,
        status: 'down',
        keys: state,
        reason: health.reason ?? 'keys_unavailable',
        message: health.message ?? "The authorization server's key endpoint cannot be read and no usable keys are left: JWT access tokens get 503.",
      };
    }
    if (state.status === 'stale' && health.status === 'up') {
      return {
        ...health,
        status: 'degraded',
        keys: state,
        reason: 'keys_stale',
        message: 'The key endpoint cannot be read; JWTs are verified with the last keys (bounded by `jwt.keysStaleIfErrorSeconds`).',
      };
    }
    return { ...health, keys: state };
  }

  /** Terminus' own HealthIndicatorService when the package is installed (optional peer dependency). */
  private terminusService(): Promise<TerminusService | undefined> {
    this.terminus ??= import('@nestjs/terminus').then(
      (terminus) => {
        try {
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- Terminus 11 and 12 type the service differently
          return this.moduleRef.get(terminus.HealthIndicatorService, { strict: false }) as unknown as TerminusService;
        } catch {
          return new terminus.HealthIndicatorService();
        }
      },
      () => {
        new Logger('IntrospectionHealthIndicator').log('@nestjs/terminus is not installed: reporting plain health indicator results.');
        return undefined;
      },
    );
    return this.terminus;
  }
}
