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
import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { TOKEN_REJECTED } from '../client/introspection-response.js';
import { IntrospectionClient } from '../client/introspection.client.js';
import { AuthorizationServerUnavailableError } from '../errors/introspection.errors.js';
import { AUTHORIZATION_SERVER_KEYS, RESOLVED_OPTIONS } from '../introspection.constants.js';
import { ResiliencePolicy } from '../resilience/resilience.policy.js';
/** What to change, by failure, for the start-up check's verdict. */
const STARTUP_HINTS = {
    unexpected_status: 'Check `introspectionEndpoint` (or `issuer`): it must point at the RFC 7662 introspection endpoint.',
    discovery_failed: 'Check `issuer`: its /.well-known metadata must be reachable and list introspection_endpoint (or set `introspectionEndpoint`).',
    connection_failed: 'Check the host and port of the endpoint, and that this network can reach it.',
    timeout: 'The authorization server is slow or unreachable from here.',
    invalid_response: 'Something answered that is not an RFC 7662 endpoint (a proxy page?): check the URL.',
};
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
let IntrospectionHealthIndicator = class IntrospectionHealthIndicator {
    constructor(options, client, resilience, moduleRef, keys) {
        this.options = options;
        this.client = client;
        this.resilience = resilience;
        this.moduleRef = moduleRef;
        this.keys = keys;
        this.dummyToken = `health-probe-${randomUUID()}`;
    }
    /**
     * Up when the authorization server answered the probe; `degraded` (Terminus 12; `up` on 11) when
     * it answered slower than `health.slowMs`; down when it did not answer within
     * `health.probeTimeoutMs`, rejected our credentials, or the circuit breaker is open.
     */
    async isHealthy(key = 'authorization-server') {
        const { status, ...details } = await this.probe();
        const session = (await this.terminusService())?.check(key);
        if (!session)
            return { [key]: { status, ...details } };
        if (status === 'degraded')
            return session.degraded ? session.degraded(details) : session.up(details);
        return status === 'up' ? session.up(details) : session.down(details);
    }
    /** With `verifyOnStartup`: checks the configuration in the background; start-up never waits for it. */
    onApplicationBootstrap() {
        if (this.options.verifyOnStartup)
            void this.verifyConfiguration();
    }
    /**
     * Introspects a dummy token once — directly, outside the circuit breaker — and logs a verdict:
     * the endpoint answers and accepts our credentials, or what is wrong and what to change. Resolves
     * to the verdict; never rejects. Runs at start-up with `verifyOnStartup: true`.
     */
    async verifyConfiguration() {
        const log = new Logger('TokenIntrospection');
        const started = performance.now();
        let verdict;
        try {
            const response = await this.client.introspect(this.dummyToken, AbortSignal.timeout(this.options.resilience.attemptTimeoutMs));
            const where = this.client.endpoints.known()?.introspectionEndpoint.href ?? 'the introspection endpoint';
            verdict =
                TOKEN_REJECTED in response
                    ? {
                        ok: false,
                        reason: 'unexpected_status',
                        message: `${where} refused to introspect a dummy token (${String(response[TOKEN_REJECTED])}) instead of answering active: false. Check \`clientAuthMethod\` and that the URL is the RFC 7662 endpoint.`,
                    }
                    : { ok: true, message: `${where} answered in ${Math.round(performance.now() - started)} ms and accepted our client credentials.` };
        }
        catch (error) {
            const e = error;
            const hint = e.reason ? STARTUP_HINTS[e.reason] ?? '' : '';
            verdict = { ok: false, reason: e.reason ?? 'unexpected_error', message: `${error?.message ?? String(error)}${hint ? ` ${hint}` : ''}` };
        }
        if (verdict.ok)
            log.log(`Start-up check passed: ${verdict.message}`);
        else
            log.error(`Start-up check FAILED (${verdict.reason}): ${verdict.message} The application keeps running; token lookups will fail until this is fixed.`);
        return verdict;
    }
    /** The latest probe outcome (cached for `health.cacheMs`; concurrent callers share one probe). */
    probe() {
        const now = Date.now();
        if (this.last && now - this.last.at < this.options.health.cacheMs)
            return this.last.outcome;
        const outcome = this.keys ? this.runProbe().then((health) => this.withKeys(health, this.keys)) : this.runProbe();
        this.last = { at: now, outcome };
        return outcome;
    }
    async runProbe() {
        const started = performance.now();
        const checkedAt = new Date().toISOString();
        try {
            const response = await this.resilience.probe((signal) => this.client.introspect(this.dummyToken, signal), this.options.health.probeTimeoutMs);
            const latencyMs = Math.round(performance.now() - started);
            if (TOKEN_REJECTED in response) {
                // A healthy endpoint answers `active: false` for an unknown opaque string; a 4xx means it refuses our requests.
                return {
                    status: 'down',
                    breaker: this.resilience.state,
                    latencyMs,
                    reason: 'unexpected_status',
                    message: `The introspection endpoint refused the probe (${String(response[TOKEN_REJECTED])}) instead of answering active: false: ` +
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
        }
        catch (error) {
            const e = error instanceof AuthorizationServerUnavailableError
                ? error
                : new AuthorizationServerUnavailableError('unexpected_error', 1, String(error?.message ?? error));
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
    async withKeys(health, keys) {
        if (keys.health().status !== 'up') {
            await this.resilience.probe((signal) => keys.refresh({ signal }), this.options.health.probeTimeoutMs).catch(() => undefined);
        }
        const state = keys.health();
        if (state.status === 'down' || state.status === 'unknown') {
            return { ...health, status: 'down', keys: state, reason: health.reason ?? 'keys_unavailable', message: health.message ?? "The authorization server's key endpoint cannot be read and no usable keys are left: JWT access tokens get 503." };
        }
        if (state.status === 'stale' && health.status === 'up') {
            return { ...health, status: 'degraded', keys: state, reason: 'keys_stale', message: "The key endpoint cannot be read; JWTs are verified with the last keys (bounded by `jwt.keysStaleIfErrorSeconds`)." };
        }
        return { ...health, keys: state };
    }
    /** Terminus' own HealthIndicatorService when the package is installed (optional peer dependency). */
    terminusService() {
        this.terminus ??= import('@nestjs/terminus').then((terminus) => {
            try {
                return this.moduleRef.get(terminus.HealthIndicatorService, { strict: false });
            }
            catch {
                return new terminus.HealthIndicatorService();
            }
        }, () => {
            new Logger('IntrospectionHealthIndicator').log('@nestjs/terminus is not installed: reporting plain health indicator results.');
            return undefined;
        });
        return this.terminus;
    }
};
IntrospectionHealthIndicator = __decorate([
    Injectable(),
    __param(0, Inject(RESOLVED_OPTIONS)),
    __param(4, Optional()),
    __param(4, Inject(AUTHORIZATION_SERVER_KEYS)),
    __metadata("design:paramtypes", [Object, IntrospectionClient,
        ResiliencePolicy,
        ModuleRef, Object])
], IntrospectionHealthIndicator);
export { IntrospectionHealthIndicator };
