import { randomBytes } from 'node:crypto';
import { AuthorizationServerUnavailableError } from '../errors/introspection.errors.js';
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
    constructor() {
        this.tokens = new Map();
        this.calls = 0;
    }
    /** Declares `token` active with these claims (replacing an earlier declaration). */
    activeToken(token, claims = {}) {
        this.tokens.set(token, { ...claims });
        return this;
    }
    /** Declares a new random active token with these claims and returns it. */
    issueToken(claims = {}) {
        const token = randomBytes(32).toString('base64url');
        this.activeToken(token, claims);
        return token;
    }
    /**
     * The authorization server answers `active: false` for `token` from now on. Like in production, an
     * app that cached the token keeps accepting it until the entry expires: call
     * `IntrospectionService.evict(token)` for an immediate effect.
     */
    revoke(token) {
        this.tokens.delete(token);
        return this;
    }
    /**
     * Every introspection call fails as it would while the AS is unavailable (default: connection
     * refused). Remember that the circuit breaker opens after repeated failures and stays open for
     * `resilience.circuitBreaker.halfOpenAfterMs` after `endOutage()`, as it would in production.
     */
    simulateOutage(outage = {}) {
        this.outage = { ...outage, reason: outage.reason ?? 'connection_failed' };
        return this;
    }
    /** The authorization server answers again. */
    endOutage() {
        this.outage = undefined;
        return this;
    }
    /** Forgets every declared token, ends any outage, and resets `introspectionCalls`. */
    reset() {
        this.tokens.clear();
        this.outage = undefined;
        this.calls = 0;
        return this;
    }
    /** How many introspection calls reached this server (cache hits and single-flight followers never do). */
    get introspectionCalls() {
        return this.calls;
    }
    /**
     * Answers one introspection call as an RFC 7662 endpoint would. Called by the in-memory client;
     * rejects with `AuthorizationServerUnavailableError` during a simulated outage.
     * @internal
     */
    answer(token, defaults, retryAfterSeconds) {
        this.calls++;
        if (this.outage)
            throw outageError(this.outage, retryAfterSeconds);
        const claims = this.tokens.get(token);
        if (!claims)
            return { active: false };
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
function outageError(outage, retryAfterSeconds) {
    const prefix = 'Simulated by InMemoryAuthorizationServer: ';
    switch (outage.reason) {
        case 'server_error':
            return new AuthorizationServerUnavailableError('server_error', retryAfterSeconds, `${prefix}the introspection endpoint answered HTTP 500.`, { status: 500 });
        case 'rate_limited': {
            const hint = outage.retryAfterSeconds;
            return new AuthorizationServerUnavailableError('rate_limited', hint ?? retryAfterSeconds, `${prefix}the introspection endpoint is rate limiting us (HTTP 429).`, {
                status: 429,
                retryAfterFromServer: hint !== undefined,
            });
        }
        case 'client_authentication_failed':
            return new AuthorizationServerUnavailableError('client_authentication_failed', retryAfterSeconds, `${prefix}the introspection endpoint rejected this API's client credentials (HTTP 401).`, { status: 401 });
        default:
            return new AuthorizationServerUnavailableError('connection_failed', retryAfterSeconds, `${prefix}the introspection endpoint could not be reached (ECONNREFUSED).`);
    }
}
