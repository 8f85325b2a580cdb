import { Controller, HttpCode, Inject, Logger, Optional, Post, Req, Res, type OnModuleInit, type Type } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { JWTPayload } from 'jose';
import { Public } from '../decorators/public.decorator.js';
import { AUTHORIZATION_SERVER_KEYS, INTROSPECTION_TELEMETRY, RESOLVED_OPTIONS, SHARED_STATE } from '../introspection.constants.js';
import { IntrospectionService } from '../introspection.service.js';
import { IntrospectionClient } from '../client/introspection.client.js';
import type { SharedState } from '../cache/shared-state.js';
import { AuthorizationServerKeys } from '../keys/authorization-server-keys.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { ResiliencePolicy } from '../resilience/resilience.policy.js';
import type { IntrospectionTelemetry } from '../telemetry/introspection.telemetry.js';
import { answer, checkReceiver, closeAfterAnswer, mediaType, requestBody, setHeader, TOO_LARGE } from './push-http.js';
import type { BackchannelLogoutReceiverRoute } from './push-options.interface.js';
import { PushRefusal, PushUnavailable, ReplayGuard, SignedEventVerifier } from './signed-event.verifier.js';

/** The event a logout token carries (OpenID Connect Back-Channel Logout 1.0 §2.4). */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/**
 * Builds the OpenID Connect Back-Channel Logout 1.0 receiver for `path`: `POST <path>` with an
 * `application/x-www-form-urlencoded` body `logout_token=<JWT>`. A logout token validated per §2.6 evicts, on
 * every replica, the cached tokens of its session (`sid`) — or of its subject (`sub`) when it names no session;
 * with both, also the subject's tokens that name no session (see `IntrospectionService.evictBySession`) —
 * and is answered 200; otherwise 400 `{"error":"invalid_request"}`. Both with `Cache-Control: no-store`.
 */
export function createBackchannelLogoutReceiverController(route: BackchannelLogoutReceiverRoute): Type<unknown> {
  const path = route.path;
  const scope = route.scope ?? 'all-replicas';
  @Controller(path)
  @Public()
  class BackchannelLogoutReceiverController implements OnModuleInit {
    private readonly log = new Logger('BackchannelLogoutReceiver');
    private verifier?: SignedEventVerifier;
    private replay?: ReplayGuard;

    constructor(
      @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
      private readonly introspection: IntrospectionService,
      private readonly client: IntrospectionClient,
      @Inject(SHARED_STATE) private readonly sharedState: SharedState,
      @Inject(INTROSPECTION_TELEMETRY) private readonly telemetry: IntrospectionTelemetry,
      @Optional() @Inject(AUTHORIZATION_SERVER_KEYS) private readonly serverKeys?: AuthorizationServerKeys | null,
      @Optional() private readonly adapterHost?: HttpAdapterHost,
    ) {}

    onModuleInit(): void {
      const config = this.options.backchannelLogout;
      checkReceiver('back-channel logout receiver', path, scope, this.options, config !== false, 'backchannelLogout');
      if (!config) return;
      const retryAfter = this.options.resilience.retryAfterSeconds;
      // The OpenID Provider's keys: the ones JWT validation already fetches, unless another JWK Set is named.
      const keys =
        this.serverKeys && !config.jwksUri
          ? this.serverKeys
          : new AuthorizationServerKeys(
              { jwksUri: config.jwksUri, cacheMs: 300_000, staleIfErrorMs: 3600_000, refreshIntervalMs: 30_000 },
              retryAfter,
              this.options.resilience.attemptTimeoutMs,
              this.client.http,
              new ResiliencePolicy(this.options.resilience),
              config.jwksUri ? { resolve: async () => ({ introspectionEndpoint: config.jwksUri!, jwksUri: config.jwksUri }) } : this.client.endpoints,
            );
      const resolver = keys.resolver();
      this.verifier = new SignedEventVerifier(
        {
          issuer: config.issuer,
          audience: config.audience,
          algorithms: config.algorithms,
          // §2.4: `logout+jwt` recommended; ID-token-like `JWT` and none accepted. An access token (`at+jwt`) or a SET is not a logout token.
          types: ['logout+jwt', 'jwt', undefined],
          maxAgeSeconds: config.maxAgeSeconds,
          clockSkewSeconds: this.options.clockSkewSeconds,
          retryAfterSeconds: retryAfter,
        },
        async () => resolver,
      );
      this.replay = new ReplayGuard('bcl', (config.maxAgeSeconds + 2 * this.options.clockSkewSeconds) * 1000, this.sharedState, retryAfter);
    }

    @Post()
    @HttpCode(200)
    async receive(@Req() req: { headers: Record<string, unknown> }, @Res({ passthrough: true }) res: unknown): Promise<void> {
      const config = this.options.backchannelLogout as Exclude<ResolvedOptions['backchannelLogout'], false>;
      // §2.8: the response SHOULD include Cache-Control: no-store, success and error alike.
      setHeader(this.adapterHost, res, 'Cache-Control', 'no-store');
      let replayId: string | undefined;
      try {
        if (mediaType(req.headers['content-type']) !== 'application/x-www-form-urlencoded') {
          throw new PushRefusal('content_type', 'Send logout_token as application/x-www-form-urlencoded (Back-Channel Logout §2.5).');
        }
        const body = await requestBody(req, config.maxTokenLength + 64);
        if (body === TOO_LARGE) throw new PushRefusal('too_large', `The body is larger than ${config.maxTokenLength + 64} bytes.`);
        const token = typeof body === 'string' ? new URLSearchParams(body).getAll('logout_token') : formValues(body?.logout_token);
        if (token.length !== 1 || token[0].length === 0) throw new PushRefusal('malformed', 'Send exactly one logout_token.');
        if (token[0].length > config.maxTokenLength) throw new PushRefusal('too_large', `logout_token is longer than ${config.maxTokenLength} characters.`);
        const { payload } = await this.verifier!.verify(token[0]);
        const target = checkLogoutToken(payload);
        replayId = this.replay!.id(config.issuer, payload.jti as string);
        await this.replay!.claim(replayId);
        // A session logout also reaches the subject's tokens that name no session (JWT access tokens without `sid`).
        const evicted =
          target.sid !== undefined
            ? await this.introspection.evictBySession(target.sid, target.sub !== undefined ? { sub: target.sub, issuedAt: payload.iat as number } : undefined)
            : await this.introspection.evictBySubject(target.sub!);
        const recorded = await this.replay!.complete(replayId);
        replayId = undefined;
        if (!recorded) this.log.warn('A logout token was acted on, but Redis could not record its jti: a replay within its age limit would evict once more.');
        const timeToRevokeMs = Math.max(0, Date.now() - (payload.iat as number) * 1000);
        this.telemetry.timeToRevoke('backchannel_logout', timeToRevokeMs / 1000);
        this.telemetry.pushReceived('backchannel-logout', 'accepted', target.sid !== undefined ? 'session' : 'subject');
        this.telemetry.emit('onPushReceived', {
          receiver: 'backchannel-logout',
          outcome: 'accepted',
          events: [BACKCHANNEL_LOGOUT_EVENT],
          evicted,
          timeToRevokeMs,
        });
      } catch (error) {
        if (error instanceof PushRefusal) {
          if (error.category === 'too_large') closeAfterAnswer(this.adapterHost, res);
          this.telemetry.pushReceived('backchannel-logout', 'refused', error.category);
          this.telemetry.emit('onPushReceived', { receiver: 'backchannel-logout', outcome: 'refused', error: 'invalid_request', description: error.message });
          throw answer(400, { error: 'invalid_request', error_description: error.message });
        }
        if (replayId) await this.replay!.release(replayId);
        const unavailable = error instanceof PushUnavailable ? error : undefined;
        // The log and the event have the cause; the answer to an anonymous sender names no internals (the AS's
        // address, a configuration error, Redis) unless `exposeOutageReason` (development).
        const retryAfter = unavailable?.retryAfterSeconds ?? this.options.resilience.retryAfterSeconds;
        const description = unavailable?.message ?? 'The eviction could not be completed; retry later.';
        const answered = this.options.exposeOutageReason ? description : `The token cannot be processed right now; retry after ${retryAfter} s.`;
        this.log.warn(`A logout token could not be processed (503): ${unavailable?.message ?? `eviction failed: ${(error as Error)?.message}`}`);
        this.telemetry.pushReceived('backchannel-logout', 'unavailable', unavailable ? 'keys_or_replay' : 'eviction');
        this.telemetry.emit('onPushReceived', { receiver: 'backchannel-logout', outcome: 'unavailable', description });
        setHeader(this.adapterHost, res, 'Retry-After', String(retryAfter));
        throw answer(503, { error: 'temporarily_unavailable', error_description: answered });
      }
    }
  }
  return BackchannelLogoutReceiverController;
}

function formValues(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  return [];
}

/** §2.6 steps 4–6 (and §2.4): the claims that make a verified JWT a logout token. */
function checkLogoutToken(payload: JWTPayload): { sub?: string; sid?: string } {
  const events = payload.events as Record<string, unknown> | undefined;
  const event = events && typeof events === 'object' && !Array.isArray(events) ? events[BACKCHANNEL_LOGOUT_EVENT] : undefined;
  if (!event || typeof event !== 'object' || Array.isArray(event)) {
    throw new PushRefusal('payload', `"events" must contain the member '${BACKCHANNEL_LOGOUT_EVENT}' (an object).`);
  }
  if (payload.nonce !== undefined) throw new PushRefusal('payload', 'A logout token must not contain "nonce" (§2.4): this looks like an ID token.');
  if (typeof payload.jti !== 'string' || payload.jti.length === 0) throw new PushRefusal('payload', 'The logout token has no "jti".');
  const sub = typeof payload.sub === 'string' && payload.sub.length > 0 ? payload.sub : undefined;
  const sid = typeof payload.sid === 'string' && payload.sid.length > 0 ? payload.sid : undefined;
  if (!sub && !sid) throw new PushRefusal('payload', 'The logout token names neither "sub" nor "sid".');
  return { sub, sid };
}
