import { randomBytes } from 'node:crypto';
import type { IntrospectionResponse } from '../client/introspection-response.js';
import { AuthorizationServerUnavailableError } from '../errors/introspection.errors.js';

/**
 * Claims of a declared token, with RFC 7662 §2.2 names. `scope` may be given as a list.
 * Anything else you add (e.g. `tenant`, `cnf`) is returned as the authorization server would.
 */
export interface TestTokenClaims {
  /** Space-separated string or a list; default none. */
  scope?: string | readonly string[];
  sub?: string;
  client_id?: string;
  username?: string;
  /** Default `'Bearer'`: an access token, as authorization servers answer for them (RFC 7662 §2.2). */
  token_type?: string;
  /** Expiry, seconds since the epoch. Default: one hour after each lookup. A past `exp` makes the token expired (401). */
  exp?: number;
  iat?: number;
  nbf?: number;
  /** Default: the module's `audience` option (first value) when it has one. */
  aud?: string | readonly string[];
  /** Default: the module's `expectedIssuer` option when it has one. */
  iss?: string;
  jti?: string;
  [claim: string]: unknown;
}

/** How the simulated authorization server fails during `simulateOutage()`. */
export interface SimulatedOutage {
  /**
   * What the HTTP layer would have seen: `'connection_failed'` (connection refused, default),
   * `'server_error'` (HTTP 500), `'rate_limited'` (HTTP 429) or `'client_authentication_failed'`
   * (the AS rejects this API's own credentials).
   */
  reason?: 'connection_failed' | 'server_error' | 'rate_limited' | 'client_authentication_failed';
  /** `Retry-After` the AS sends with 429 (seconds). */
  retryAfterSeconds?: number;
}

/** Defaults the module's own options supply to declared tokens. */
export interface TestTokenDefaults {
  readonly audience?: readonly string[];
  readonly expectedIssuer?: string;
}

/**
 * An in-memory authorization server for your app's tests: declare which tokens are active, with
 * which scopes and claims; revoke them; simulate an outage. Plug it in with `overrideIntrospection()`:
 * it replaces only the HTTP call to the introspection endpoint, so every request still goes through
 * the real `TokenGuard`, `IntrospectionService`, cache, single-flight, retries and circuit breaker —
 * 401, 403, 503 + `Retry-After` and outage policies behave exactly as in production.
 *
 * ```ts
 * const as = new InMemoryAuthorizationServer().activeToken('reader', { scope: 'orders:read', sub: 'alice' });
 * const moduleRef = await overrideIntrospection(Test.createTestingModule({ imports: [AppModule] }), as).compile();
 * ```
 */
export class InMemoryAuthorizationServer {
  private readonly tokens = new Map<string, TestTokenClaims>();
  private outage?: Required<Pick<SimulatedOutage, 'reason'>> & SimulatedOutage;
  private calls = 0;

  /** Declares `token` active with these claims (replacing an earlier declaration). */
  activeToken(token: string, claims: TestTokenClaims = {}): this {
    this.tokens.set(token, { ...claims });
    return this;
  }

  /** Declares a new random active token with these claims and returns it. */
  issueToken(claims: TestTokenClaims = {}): string {
    const token = randomBytes(32).toString('base64url');
    this.activeToken(token, claims);
    return token;
  }

  /**
   * The authorization server answers `active: false` for `token` from now on. Like in production, an
   * app that cached the token keeps accepting it until the entry expires: call
   * `IntrospectionService.evict(token)` for an immediate effect.
   */
  revoke(token: string): this {
    this.tokens.delete(token);
    return this;
  }

  /**
   * Every introspection call fails as it would while the AS is unavailable (default: connection
   * refused). Remember that the circuit breaker opens after repeated failures and stays open for
   * `resilience.circuitBreaker.halfOpenAfterMs` after `endOutage()`, as it would in production.
   */
  simulateOutage(outage: SimulatedOutage = {}): this {
    this.outage = { ...outage, reason: outage.reason ?? 'connection_failed' };
    return this;
  }

  /** The authorization server answers again. */
  endOutage(): this {
    this.outage = undefined;
    return this;
  }

  /** Forgets every declared token, ends any outage, and resets `introspectionCalls`. */
  reset(): this {
    this.tokens.clear();
    this.outage = undefined;
    this.calls = 0;
    return this;
  }

  /** How many introspection calls reached this server (cache hits and single-flight followers never do). */
  get introspectionCalls(): number {
    return this.calls;
  }

  /**
   * Answers one introspection call as an RFC 7662 endpoint would. Called by the in-memory client;
   * rejects with `AuthorizationServerUnavailableError` during a simulated outage.
   * @internal
   */
  answer(token: string, defaults: TestTokenDefaults, retryAfterSeconds: number): IntrospectionResponse {
    this.calls++;
    if (this.outage) throw outageError(this.outage, retryAfterSeconds);
    const claims = this.tokens.get(token);
    if (!claims) return { active: false };
    const now = Math.floor(Date.now() / 1000);
    const { scope, aud, ...rest } = claims;
    const audience = aud ?? defaults.audience?.[0];
    const iss = rest.iss ?? defaults.expectedIssuer;
    return {
      active: true,
      token_type: 'Bearer',
      exp: now + 3600,
      iat: now,
      ...rest,
      ...(scope === undefined ? {} : { scope: typeof scope === 'string' ? scope : scope.join(' ') }),
      ...(audience === undefined ? {} : { aud: typeof audience === 'string' ? audience : [...audience] }),
      ...(iss === undefined ? {} : { iss }),
    };
  }
}

function outageError(outage: SimulatedOutage & { reason: NonNullable<SimulatedOutage['reason']> }, retryAfterSeconds: number) {
  const prefix = 'Simulated by InMemoryAuthorizationServer: ';
  switch (outage.reason) {
    case 'server_error':
      return new AuthorizationServerUnavailableError('server_error', retryAfterSeconds, `${prefix}the introspection endpoint answered HTTP 500.`, {
        status: 500,
      });
    case 'rate_limited': {
      const hint = outage.retryAfterSeconds;
      return new AuthorizationServerUnavailableError(
        'rate_limited',
        hint ?? retryAfterSeconds,
        `${prefix}the introspection endpoint is rate limiting us (HTTP 429).`,
        {
          status: 429,
          retryAfterFromServer: hint !== undefined,
        },
      );
    }
    case 'client_authentication_failed':
      return new AuthorizationServerUnavailableError(
        'client_authentication_failed',
        retryAfterSeconds,
        `${prefix}the introspection endpoint rejected this API's client credentials (HTTP 401).`,
        { status: 401 },
      );
    default:
      return new AuthorizationServerUnavailableError(
        'connection_failed',
        retryAfterSeconds,
        `${prefix}the introspection endpoint could not be reached (ECONNREFUSED).`,
      );
  }
}
