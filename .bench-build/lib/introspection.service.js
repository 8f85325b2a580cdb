var __decorate = (this && this.__decorate) || function (decorators, target, key, desc) {
    var c = arguments.length, r = c < 3 ? target : desc === null ? desc = Object.getOwnPropertyDescriptor(target, key) : desc, d;
    if (typeof Reflect === "object" && typeof Reflect.decorate === "function") r = Reflect.decorate(decorators, target, key, desc);
    else for (var i = decorators.length - 1; i >= 0; i--) if (d = decorators[i]) r = (c < 3 ? d(r) : c > 3 ? d(target, key, r) : d(target, key)) || r;
    return c > 3 && r && Object.defineProperty(target, key, r), r;
};
var __metadata = (this && this.__metadata) || function (k, v) {
    if (typeof Reflect === "object" && typeof Reflect.metadata === "function") return Reflect.metadata(k, v);
};
var __param = (this && this.__param) || function (paramIndex, decorator) {
    return function (target, key) { decorator(target, key, paramIndex); }
};
var IntrospectionService_1;
import { hash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { SingleFlight } from './cache/single-flight.js';
import { inactive, validateClaims } from './client/introspection-response.js';
import { IntrospectionClient } from './client/introspection.client.js';
import { AuthorizationServerUnavailableError, InvalidTokenError, } from './errors/introspection.errors.js';
import { INTROSPECTION_CACHE, RESOLVED_OPTIONS } from './introspection.constants.js';
import { ResiliencePolicy } from './resilience/resilience.policy.js';
import { tokenFingerprint } from './utils/fingerprint.js';
import { RateLimitedLogger } from './utils/rate-limited-logger.js';
/**
 * Asks the authorization server whether a token is active (RFC 7662), with caching, single-flight,
 * timeouts, retries, a circuit breaker and a bulkhead in between. Knows nothing of HTTP requests:
 * use it from guards, GraphQL contexts, WebSocket gateways or message handlers alike.
 */
let IntrospectionService = IntrospectionService_1 = class IntrospectionService {
    constructor(options, cache, resilience, client) {
        this.options = options;
        this.cache = cache;
        this.resilience = resilience;
        this.client = client;
        this.flight = new SingleFlight();
        this.log = new RateLimitedLogger(new Logger(IntrospectionService_1.name));
        this.allowStaleByDefault = options.outagePolicy === 'serve-stale';
    }
    /**
     * Introspects a token. Resolves to the validated RFC 7662 result — `{ active: false, reason }` for
     * a token that is unknown, revoked, expired or not meant for this API — and rejects with
     * `AuthorizationServerUnavailableError` when the authorization server cannot answer.
     */
    async introspect(token, options) {
        if (typeof token !== 'string' || token.length === 0)
            return inactive('inactive');
        const cache = this.cache;
        let key;
        let lookup;
        if (cache) {
            key = cache.key(token);
            lookup = await cache.get(key);
            if (lookup) {
                if (lookup.negative)
                    return lookup.negative;
                if (Date.now() < lookup.entry.freshUntil)
                    return lookup.entry.result;
            }
        }
        else {
            key = hash('sha256', token, 'base64url');
        }
        if (options?.signal?.aborted)
            throw callerGaveUp(this.options);
        const shared = this.flight.run(key, () => this.lookup(token, key));
        try {
            return await (options?.timeoutMs !== undefined || options?.signal ? withDeadline(shared, options, this.options) : shared);
        }
        catch (error) {
            const entry = lookup?.entry;
            if (error instanceof AuthorizationServerUnavailableError &&
                (options?.allowStale ?? this.allowStaleByDefault) &&
                entry &&
                Date.now() < entry.staleUntil) {
                return Object.freeze({ ...entry.result, stale: true });
            }
            throw error;
        }
    }
    /**
     * Like `introspect()`, but resolves only to an active result and rejects with `InvalidTokenError`
     * (with its `reason`) otherwise.
     */
    async authenticate(token, options) {
        const result = await this.introspect(token, options);
        if (!result.active)
            throw new InvalidTokenError(result.reason);
        return result;
    }
    /**
     * Forgets what is cached about a token, so its next use asks the authorization server again
     * (call it after revoking a token). Rejects if a shared cache store cannot delete it.
     */
    async evict(token) {
        if (this.cache)
            await this.cache.delete(this.cache.key(token));
    }
    /** State of the circuit breaker in front of the authorization server. */
    get circuitState() {
        return this.resilience.state;
    }
    onApplicationShutdown() {
        this.client.close();
    }
    /** One call to the authorization server (shared by concurrent callers of the same token). */
    async lookup(token, key) {
        const started = Date.now();
        try {
            const response = await this.resilience.execute((signal) => this.client.introspect(token, signal));
            const now = Date.now();
            const result = validateClaims(response, this.options, now / 1000);
            if (this.cache) {
                if (result.active)
                    this.cache.setActive(key, result, now);
                else
                    this.cache.setInactive(key, result);
            }
            return result;
        }
        catch (error) {
            this.reportFailure(error, token, Date.now() - started);
            throw error;
        }
    }
    reportFailure(error, token, elapsedMs) {
        if (!(error instanceof AuthorizationServerUnavailableError))
            return;
        const endpoint = this.client.endpoints.known()?.introspectionEndpoint.host ?? this.options.issuer ?? 'unknown';
        const line = `Authorization server unavailable (${error.reason}${error.status ? `, HTTP ${error.status}` : ''}) ` +
            `at ${endpoint} after ${elapsedMs} ms for token ${tokenFingerprint(token)}: ${error.message} ` +
            `Answering 'unavailable' (retry after ${error.retryAfterSeconds} s).`;
        if (error.reason === 'client_authentication_failed')
            this.log.error(error.reason, line);
        else
            this.log.warn(error.reason, line);
    }
};
IntrospectionService = IntrospectionService_1 = __decorate([
    Injectable(),
    __param(0, Inject(RESOLVED_OPTIONS)),
    __param(1, Inject(INTROSPECTION_CACHE)),
    __metadata("design:paramtypes", [Object, Object, ResiliencePolicy,
        IntrospectionClient])
], IntrospectionService);
export { IntrospectionService };
/**
 * Races the shared lookup against this caller's own deadline and abort signal. The shared promise
 * always keeps a handler: it may settle long after this caller gave up.
 */
function withDeadline(shared, options, resolved) {
    return new Promise((resolve, reject) => {
        const signal = options.signal;
        const fail = () => {
            cleanup();
            reject(callerGaveUp(resolved));
        };
        const timer = options.timeoutMs !== undefined ? setTimeout(fail, options.timeoutMs) : undefined;
        const cleanup = () => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', fail);
        };
        signal?.addEventListener('abort', fail, { once: true });
        shared.then((value) => {
            cleanup();
            resolve(value);
        }, (error) => {
            cleanup();
            reject(error);
        });
    });
}
function callerGaveUp(resolved) {
    return new AuthorizationServerUnavailableError('timeout', resolved.resilience.retryAfterSeconds, 'The caller stopped waiting for the authorization server (its deadline passed or it was aborted).');
}
