import type { RoleExtractor } from '../authorization/role-mappers.js';
import type { ActiveIntrospectionResult, TokenPresentation } from '../interfaces/introspection-result.interface.js';
import type { IntrospectionService } from '../introspection.service.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { RateLimitedLogger } from '../utils/rate-limited-logger.js';
import type { BearerExtraction } from '../guard/bearer.js';
import type { RouteChecks } from '../guard/route-checks.js';
import { CLOSE_CODES, ConnectionRefusedError, routeRefusal } from './connection-refusal.js';
import { isCompiled, type ConnectionPrincipal, type ConnectionRequirements } from './connection-state.js';

/** A watched connection (see `ConnectionAuthenticator.watch`). */
export interface Watched {
  readonly principal: ConnectionPrincipal;
  readonly checks?: RouteChecks;
  readonly key: string;
  readonly close: (code: number, reason: string) => void;
  timer?: ReturnType<typeof setTimeout>;
  checking?: boolean;
  again?: boolean;
  ended?: boolean;
}

/** A check in progress, told about evictions of its token that land before its answer is used (see `evictionAware`). */
interface InFlight {
  evicted: boolean;
}

/**
 * What the watch needs of `ConnectionAuthenticator`: its token check, its authentication and its requirement
 * compiler (bound to it, so that a subclass's overrides apply). Internal.
 */
export interface WatchHost {
  check(token: string, presentation: TokenPresentation, caller?: string): Promise<ActiveIntrospectionResult>;
  authenticate(
    token: BearerExtraction,
    requirements: RouteChecks | readonly string[],
    presentation?: TokenPresentation,
    caller?: string,
  ): Promise<ConnectionPrincipal>;
  compileRequirements(requirements: readonly string[] | ConnectionRequirements): RouteChecks | undefined;
}

/**
 * The watch over open connections of `ConnectionAuthenticator`: each is checked again every
 * `websocket.recheckIntervalSeconds`, at its token's `exp`, and as soon as the token is evicted (`evict()`,
 * `evictBySubject()`, the webhook, another replica); a token found inactive closes it with 4401. While the
 * authorization server cannot answer, open connections stay open (never past `exp`). Internal.
 */
export class ConnectionWatch {
  private readonly watched = new Map<string, Set<Watched>>();
  private readonly inFlight = new Map<string, Set<InFlight>>();

  constructor(
    private readonly introspection: IntrospectionService,
    private readonly options: ResolvedOptions,
    private readonly roles: RoleExtractor,
    private readonly log: RateLimitedLogger,
    private readonly host: WatchHost,
  ) {
    introspection.onEvicted((keys) => this.onEvicted(keys));
  }

  /**
   * Authenticates a connection's token and starts watching it, without missing an eviction that lands while the
   * authorization server's answer is on its way: the answer was given before the eviction, so it is asked again once
   * (the eviction dropped the cache entry and kept that answer out of it). An eviction during that second check
   * triggers a re-check of the now watched connection.
   */
  async authenticateAndWatch(
    extraction: BearerExtraction,
    checks: RouteChecks | readonly string[],
    presentation: TokenPresentation,
    caller: string | undefined,
    close: (code: number, reason: string) => void,
    onClose: (stop: () => void) => void,
  ): Promise<ConnectionPrincipal> {
    const compiled = isCompiled(checks) ? checks : this.host.compileRequirements(checks);
    if (extraction.kind !== 'token') return this.host.authenticate(extraction, compiled ?? []); // refused: nothing to watch
    const key = this.introspection.evictionKey(extraction.token);
    const flight: InFlight = { evicted: false };
    let set = this.inFlight.get(key);
    if (!set) this.inFlight.set(key, (set = new Set()));
    set.add(flight);
    try {
      let principal = await this.host.authenticate(extraction, compiled ?? [], presentation, caller);
      if (flight.evicted) {
        flight.evicted = false;
        principal = await this.host.authenticate(extraction, compiled ?? [], presentation, caller);
      }
      const entry = this.startWatching(principal, close, compiled);
      onClose(() => this.unwatch(entry));
      if (flight.evicted) void this.recheck(entry);
      return principal;
    } finally {
      set.delete(flight);
      if (set.size === 0 && this.inFlight.get(key) === set) this.inFlight.delete(key);
    }
  }

  startWatching(principal: ConnectionPrincipal, close: (code: number, reason: string) => void, checks: RouteChecks | undefined): Watched {
    const entry: Watched = { principal, checks, key: this.introspection.evictionKey(principal.token), close };
    let set = this.watched.get(entry.key);
    if (!set) this.watched.set(entry.key, (set = new Set()));
    set.add(entry);
    this.schedule(entry);
    return entry;
  }

  /** Open connections under watch (for metrics and tests). */
  get size(): number {
    let n = 0;
    for (const set of this.watched.values()) n += set.size;
    return n;
  }

  /** Stops watching every connection (application shutdown). */
  stopAll(): void {
    for (const set of this.watched.values()) for (const entry of set) this.unwatch(entry);
  }

  private schedule(entry: Watched): void {
    if (entry.ended) return;
    clearTimeout(entry.timer);
    const exp = entry.principal.result.exp;
    const untilExp = typeof exp === 'number' ? exp * 1000 - Date.now() : Number.POSITIVE_INFINITY;
    // Spread re-checks of connections opened together over ±10 % of the interval.
    const interval = this.options.websocket.recheckMs * (0.9 + Math.random() * 0.2);
    const delay = Math.max(0, Math.min(untilExp, interval, 2 ** 31 - 1));
    entry.timer = setTimeout(() => void this.recheck(entry), delay);
    entry.timer.unref?.();
  }

  private async recheck(entry: Watched): Promise<void> {
    if (entry.ended) return;
    if (entry.checking) {
      entry.again = true;
      return;
    }
    entry.checking = true;
    try {
      const { token, presentation, caller } = entry.principal;
      const exp = entry.principal.result.exp;
      if (typeof exp === 'number' && exp * 1000 <= Date.now()) return this.end(entry, CLOSE_CODES.invalid_token, 'The access token expired.');
      const result = await this.host.check(token, presentation, caller);
      entry.principal.result = result;
      // The connection's own requirements, as at connect (roles may have changed, max_age may have passed).
      const refused = entry.checks && routeRefusal(entry.checks, result, this.roles, this.options.clockSkewSeconds);
      if (refused) return this.end(entry, refused.closeCode, refused.message);
      this.schedule(entry);
    } catch (error) {
      if (error instanceof ConnectionRefusedError && error.error === 'temporarily_unavailable') {
        // An outage does not end connections that were authenticated (reconnecting would fail too); `exp` still does.
        this.log.warn(
          'recheck-unavailable',
          'A connection could not be re-checked (authorization server unavailable); it stays open until its token expires or a re-check succeeds.',
        );
        this.schedule(entry);
      } else {
        this.end(entry, CLOSE_CODES.invalid_token, error instanceof ConnectionRefusedError ? error.message : 'The access token is no longer accepted.');
      }
    } finally {
      entry.checking = false;
      if (entry.again && !entry.ended) {
        entry.again = false;
        void this.recheck(entry);
      }
    }
  }

  private onEvicted(keys: readonly string[] | '*'): void {
    if (keys === '*') {
      for (const set of this.inFlight.values()) for (const flight of set) flight.evicted = true;
    } else {
      for (const key of keys) for (const flight of this.inFlight.get(key) ?? []) flight.evicted = true;
    }
    if (keys === '*') {
      for (const set of this.watched.values()) for (const entry of set) void this.recheck(entry);
      return;
    }
    for (const key of keys) for (const entry of this.watched.get(key) ?? []) void this.recheck(entry);
  }

  private end(entry: Watched, code: number, reason: string): void {
    if (entry.ended) return;
    this.unwatch(entry);
    try {
      entry.close(code, reason);
    } catch (error) {
      this.log.warn('close', `Closing a connection failed: ${(error as Error)?.message ?? String(error)}`);
    }
  }

  unwatch(entry: Watched): void {
    entry.ended = true;
    clearTimeout(entry.timer);
    const set = this.watched.get(entry.key);
    if (set?.delete(entry) && set.size === 0) this.watched.delete(entry.key);
  }
}
