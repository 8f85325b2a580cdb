import { Controller, HttpCode, Inject, Logger, Optional, Post, Req, Res, type OnModuleInit, type Type } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { JWTPayload } from 'jose';
import { Public } from '../decorators/public.decorator.js';
import { INTROSPECTION_TELEMETRY, RESOLVED_OPTIONS, SHARED_STATE } from '../introspection.constants.js';
import { IntrospectionService } from '../introspection.service.js';
import { IntrospectionClient } from '../client/introspection.client.js';
import type { SharedState } from '../cache/shared-state.js';
import { AuthorizationServerKeys } from '../keys/authorization-server-keys.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { ResiliencePolicy } from '../resilience/resilience.policy.js';
import type { IntrospectionTelemetry } from '../telemetry/introspection.telemetry.js';
import { RateLimitedLogger } from '../utils/rate-limited-logger.js';
import {
  answer,
  checkReceiver,
  closeAfterAnswer,
  mediaType,
  registerSecurityEventParser,
  requestBody,
  SECEVENT_MEDIA_TYPE,
  setHeader,
  TOO_LARGE,
} from './push-http.js';
import type { SecurityEventReceiverRoute } from './push-options.interface.js';
import { PushRefusal, PushUnavailable, ReplayGuard, SignedEventVerifier, staticKeys, type KeyResolver, type RefusalCategory } from './signed-event.verifier.js';

/** CAEP 1.0 event types the receiver acts on (OpenID Continuous Access Evaluation Profile). */
export const CAEP_EVENTS = {
  sessionRevoked: 'https://schemas.openid.net/secevent/caep/event-type/session-revoked',
  credentialChange: 'https://schemas.openid.net/secevent/caep/event-type/credential-change',
  tokenClaimsChange: 'https://schemas.openid.net/secevent/caep/event-type/token-claims-change',
} as const;
/** The SSF 1.0 stream verification event: acknowledged, nothing to evict. */
const SSF_VERIFICATION = 'https://schemas.openid.net/secevent/ssf/event-type/verification';

/** RFC 8935 §2.3 error codes, by refusal category. */
const ERROR_CODES: Record<RefusalCategory, string> = {
  malformed: 'invalid_request',
  content_type: 'invalid_request',
  too_large: 'invalid_request',
  typ: 'invalid_request',
  iat: 'invalid_request',
  expired: 'invalid_request',
  replayed: 'invalid_request',
  payload: 'invalid_request',
  unsigned: 'authentication_failed',
  signature: 'authentication_failed',
  algorithm: 'invalid_key',
  unknown_key: 'invalid_key',
  issuer: 'invalid_issuer',
  audience: 'invalid_audience',
};

/** What an event asks to evict, from its subject (RFC 9493 subject identifiers, SSF `complex` subjects). */
interface Target {
  sub?: string;
  sid?: string;
  jti?: string;
  /** The subject names something this API cannot evict by (an e-mail address, another issuer's subject). */
  skipped?: string;
  /** The other issuer, when `skipped` is `'foreign_issuer'`. */
  issuer?: unknown;
}

/** An eviction; a session's with the subject it names (its tokens without `sid` are reached too). */
type Eviction = { claim: 'sub' | 'sid' | 'jti'; value: string; sub?: string };

/**
 * Builds the OpenID Shared Signals receiver for `path` (RFC 8935 push delivery of RFC 8417 Security Event
 * Tokens, SSF 1.0, CAEP 1.0): `POST <path>` with `Content-Type: application/secevent+jwt`. A verified SET's CAEP
 * events evict on every replica — `session-revoked` by session (`sid`) or subject, `credential-change` by subject,
 * `token-claims-change` by `jti` or subject — and are answered 202; refusals are 400 with the RFC 8935 error JSON.
 */
export function createSecurityEventReceiverController(route: SecurityEventReceiverRoute): Type<unknown> {
  const path = route.path;
  const scope = route.scope ?? 'all-replicas';
  @Controller(path)
  @Public()
  class SecurityEventReceiverController implements OnModuleInit {
    private readonly log = new Logger('SecurityEventReceiver');
    private readonly rateLimitedLog = new RateLimitedLogger(this.log, 60_000);
    private verifier?: SignedEventVerifier;
    private replay?: ReplayGuard;

    constructor(
      @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
      private readonly introspection: IntrospectionService,
      private readonly client: IntrospectionClient,
      @Inject(SHARED_STATE) private readonly sharedState: SharedState,
      @Inject(INTROSPECTION_TELEMETRY) private readonly telemetry: IntrospectionTelemetry,
      @Optional() private readonly adapterHost?: HttpAdapterHost,
    ) {}

    onModuleInit(): void {
      const config = this.options.securityEvents;
      checkReceiver('Shared Signals receiver', path, scope, this.options, config !== false, 'securityEvents');
      if (!config) return;
      const retryAfter = this.options.resilience.retryAfterSeconds;
      let keys: () => Promise<KeyResolver>;
      if (config.jwks) {
        const resolver = staticKeys(config.jwks);
        resolver.catch(() => undefined);
        keys = () => resolver;
      } else {
        // The transmitter's keys, fetched like the authorization server's: the library's HTTP client, its own breaker.
        const jwksUri = config.jwksUri!;
        const remote = new AuthorizationServerKeys(
          { jwksUri, cacheMs: config.keysCacheMs, staleIfErrorMs: 3600_000, refreshIntervalMs: config.keysRefreshIntervalMs },
          retryAfter,
          this.options.resilience.attemptTimeoutMs,
          this.client.http,
          new ResiliencePolicy(this.options.resilience),
          { resolve: async () => ({ introspectionEndpoint: jwksUri, jwksUri }) },
        );
        const resolver = remote.resolver();
        keys = async () => resolver;
      }
      this.verifier = new SignedEventVerifier(
        {
          issuer: config.issuer,
          audience: config.audience,
          algorithms: config.algorithms,
          types: ['secevent+jwt'],
          maxAgeSeconds: config.maxAgeSeconds,
          clockSkewSeconds: this.options.clockSkewSeconds,
          retryAfterSeconds: retryAfter,
        },
        keys,
      );
      this.replay = new ReplayGuard('ssf', (config.maxAgeSeconds + 2 * this.options.clockSkewSeconds) * 1000, this.sharedState, retryAfter);
      registerSecurityEventParser(this.adapterHost, config.maxBodyBytes);
    }

    @Post()
    @HttpCode(202)
    async receive(@Req() req: { headers: Record<string, unknown> }, @Res({ passthrough: true }) res: unknown): Promise<void> {
      const config = this.options.securityEvents as Exclude<ResolvedOptions['securityEvents'], false>;
      let events: string[] | undefined;
      let replayId: string | undefined;
      try {
        if (mediaType(req.headers['content-type']) !== SECEVENT_MEDIA_TYPE) {
          throw new PushRefusal('content_type', `Send the SET as ${SECEVENT_MEDIA_TYPE} (RFC 8935 §2).`);
        }
        const body = await requestBody(req, config.maxBodyBytes);
        if (body === TOO_LARGE) throw new PushRefusal('too_large', `The body is larger than ${config.maxBodyBytes} bytes.`);
        if (typeof body !== 'string') throw new PushRefusal('malformed', 'The body is not a SET.');
        const { payload } = await this.verifier!.verify(body.trim());
        const plan = this.plan(payload, config.subjectIssuer);
        events = plan.events;
        replayId = this.replay!.id(config.issuer, payload.jti as string);
        await this.replay!.claim(replayId);
        const iat = payload.iat as number;
        const evicted = await this.evict(plan.evictions, iat);
        const recorded = await this.replay!.complete(replayId);
        replayId = undefined;
        if (!recorded) this.log.warn('A SET was acted on, but Redis could not record its jti: a replay within its age limit would evict once more.');
        const outcome = plan.evictions.length > 0 ? 'accepted' : 'ignored';
        const timeToRevokeMs = plan.evictions.length > 0 ? Math.max(0, Date.now() - iat * 1000) : undefined;
        if (timeToRevokeMs !== undefined) this.telemetry.timeToRevoke('ssf', timeToRevokeMs / 1000);
        this.telemetry.pushReceived('security-events', outcome, plan.reason);
        this.telemetry.emit('onPushReceived', { receiver: 'security-events', outcome, events, evicted, timeToRevokeMs });
      } catch (error) {
        if (error instanceof PushRefusal) {
          if (error.category === 'too_large') closeAfterAnswer(this.adapterHost, res);
          const err = ERROR_CODES[error.category];
          this.telemetry.pushReceived('security-events', 'refused', error.category);
          this.telemetry.emit('onPushReceived', { receiver: 'security-events', outcome: 'refused', error: err, description: error.message, events });
          throw answer(400, { err, description: error.message });
        }
        if (replayId) await this.replay!.release(replayId);
        const unavailable = error instanceof PushUnavailable ? error : undefined;
        // The log and the event have the cause; the answer to an anonymous sender names no internals (the AS's
        // address, a configuration error, Redis) unless `exposeOutageReason` (development).
        const retryAfter = unavailable?.retryAfterSeconds ?? this.options.resilience.retryAfterSeconds;
        const description = unavailable?.message ?? 'The eviction could not be completed; retry later.';
        const answered = this.options.exposeOutageReason ? description : `The token cannot be processed right now; retry after ${retryAfter} s.`;
        this.log.warn(
          `A Security Event Token could not be processed (503, the transmitter may retry): ${unavailable?.message ?? `eviction failed: ${(error as Error)?.message}`}`,
        );
        this.telemetry.pushReceived('security-events', 'unavailable', unavailable ? 'keys_or_replay' : 'eviction');
        this.telemetry.emit('onPushReceived', { receiver: 'security-events', outcome: 'unavailable', description, events });
        setHeader(this.adapterHost, res, 'Retry-After', String(retryAfter));
        throw answer(503, { err: 'temporarily_unavailable', description: answered });
      }
    }

    /** What the SET asks, checked whole before anything is evicted (a 400 evicts nothing). */
    private plan(payload: JWTPayload, subjectIssuer: string | undefined): { events: string[]; evictions: Eviction[]; reason: string } {
      if (typeof payload.jti !== 'string' || payload.jti.length === 0) throw new PushRefusal('payload', 'The SET has no "jti" (RFC 8417 §2.2).');
      const eventsClaim = payload.events;
      if (!eventsClaim || typeof eventsClaim !== 'object' || Array.isArray(eventsClaim) || Object.keys(eventsClaim).length === 0) {
        throw new PushRefusal('payload', 'The SET has no "events" object (RFC 8417 §2.2).');
      }
      const events = Object.keys(eventsClaim);
      const evictions: Eviction[] = [];
      let reason = 'unknown_event';
      for (const [type, body] of Object.entries(eventsClaim as Record<string, unknown>)) {
        if (!body || typeof body !== 'object' || Array.isArray(body)) throw new PushRefusal('payload', `The payload of event '${type}' is not an object.`);
        if (type === SSF_VERIFICATION) {
          reason = 'verification';
          continue;
        }
        const kind =
          type === CAEP_EVENTS.sessionRevoked
            ? 'session'
            : type === CAEP_EVENTS.credentialChange
              ? 'subject'
              : type === CAEP_EVENTS.tokenClaimsChange
                ? 'token'
                : undefined;
        if (!kind) continue; // unknown events are acknowledged and ignored (counted)
        // SSF 1.0 puts the subject in `sub_id`; CAEP drafts (and many transmitters) in the event's `subject`.
        const subject = (body as { subject?: unknown }).subject ?? payload.sub_id;
        const target = parseSubject(subject, subjectIssuer);
        if (!target) throw new PushRefusal('payload', `Event '${type}' has no subject identifier it can be applied to ("sub_id" or "subject", RFC 9493).`);
        if (target.skipped) {
          reason = target.skipped;
          if (target.skipped === 'foreign_issuer') {
            this.rateLimitedLog.warn(
              'foreign-issuer',
              () =>
                `Event '${type}' names a subject of issuer ${JSON.stringify(String(target.issuer)).slice(0, 200)}, not '${subjectIssuer}': ignored. ` +
                'If that issuer is the one of your tokens (compared exactly, a trailing slash included), set `securityEvents.subjectIssuer`.',
            );
          }
          continue;
        }
        const pick =
          kind === 'session'
            ? target.sid
              ? { claim: 'sid' as const, value: target.sid, sub: target.sub }
              : undefined
            : kind === 'token' && target.jti
              ? { claim: 'jti' as const, value: target.jti }
              : undefined;
        const eviction = pick ?? (target.sub ? { claim: 'sub' as const, value: target.sub } : undefined);
        if (!eviction) {
          reason = 'unsupported_subject';
          continue;
        }
        evictions.push(eviction);
        reason = kind;
      }
      return { events, evictions, reason };
    }

    private async evict(evictions: readonly Eviction[], iat: number): Promise<number> {
      let dropped = 0;
      for (const { claim, value, sub } of evictions) {
        if (claim === 'sid') dropped += await this.introspection.evictBySession(value, sub !== undefined ? { sub, issuedAt: iat } : undefined);
        else if (claim === 'sub') dropped += await this.introspection.evictBySubject(value);
        else await this.introspection.evictByJti(value);
      }
      return dropped;
    }
  }
  return SecurityEventReceiverController;
}

/**
 * RFC 9493 subject identifiers (and SSF 1.0 `complex` subjects): `iss_sub` and `opaque` name a subject, `jwt_id`
 * a token, a complex subject's `session` (opaque) a session. Legacy CAEP drafts spell the format `subject_type`
 * with hyphens. Undefined when the value is no subject identifier at all.
 */
function parseSubject(value: unknown, subjectIssuer: string | undefined): Target | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const s = value as Record<string, unknown>;
  const rawFormat = s.format ?? s.subject_type;
  if (typeof rawFormat !== 'string') return undefined;
  const format = rawFormat.replace(/-/g, '_');
  const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);
  const foreign = (iss: unknown) => subjectIssuer !== undefined && iss !== subjectIssuer;
  switch (format) {
    case 'iss_sub':
      if (!str(s.iss) || !str(s.sub)) return undefined;
      return foreign(s.iss) ? { skipped: 'foreign_issuer', issuer: s.iss } : { sub: s.sub as string };
    case 'opaque':
      return str(s.id) ? { sub: s.id as string } : undefined;
    case 'jwt_id':
      if (!str(s.iss) || !str(s.jti)) return undefined;
      return foreign(s.iss) ? { skipped: 'foreign_issuer', issuer: s.iss } : { jti: s.jti as string };
    case 'complex': {
      const user = s.user === undefined ? undefined : parseSubject(s.user, subjectIssuer);
      const session = s.session as Record<string, unknown> | undefined;
      const sid = session && typeof session === 'object' ? (str(session.id) ?? str(session.sid)) : undefined;
      // Another issuer's user: its sessions are not this API's either.
      if (user?.skipped === 'foreign_issuer') return user;
      // A session id is used whatever format the user is given in (an e-mail address names no token of ours).
      const sub = user?.sub;
      if (!sub && !sid) return s.user !== undefined || s.session !== undefined ? { skipped: user?.skipped ?? 'unsupported_subject' } : undefined;
      return { sub, sid };
    }
    default:
      // email, phone_number, account, did, uri, aliases, …: this API's tokens are not indexed by them.
      return { skipped: 'unsupported_subject' };
  }
}
