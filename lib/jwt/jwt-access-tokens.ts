import { AuthorizationServerUnavailableError } from '../errors/introspection.errors.js';
import { hash } from 'node:crypto';
import { loadJose } from '../utils/jose.js';
import type { IntrospectionCache } from '../cache/introspection.cache.js';
import type { SharedState } from '../cache/shared-state.js';
import { inactive } from '../client/introspection-response.js';
import type { ActiveIntrospectionResult, IntrospectOptions, IntrospectionResult } from '../interfaces/introspection-result.interface.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { ResultSource } from '../telemetry/introspection-events.interface.js';
import { looksLikeJwt, type JwtAccessTokenValidator } from './jwt-access-token.validator.js';
import type { IntrospectAtServer, TokenEvictionClaim, TokenPath } from '../ports.js';

/** Claims a JWT eviction can name besides the token itself. */
export type JwtEvictionClaim = TokenEvictionClaim;
export type { IntrospectAtServer };
const CLAIMS: readonly JwtEvictionClaim[] = ['sub', 'client_id', 'jti', 'sid'];
/** The mark of `revokeSessionless`: a subject's JWTs that name no session. */
const SESSIONLESS_SUB = 'sub-without-sid';

/** How long an evicted JWT without a usable `exp` is refused (it cannot pass local validation anyway). */
const DENY_WITHOUT_EXP_MS = 24 * 3600 * 1000;
/** Local marks kept before expired ones are swept. */
const SWEEP_AT = 1024;

/**
 * Routes JWT-shaped bearer tokens (RFC 9068) per `jwt.mode`, beside the introspection of opaque tokens:
 * - `local`: validated with the AS's keys, the result remembered in the in-process tier for
 *   min(`verificationCacheSeconds`, exp); on `@RequireIntrospection()` routes *also* introspected.
 * - `local-then-introspect`: validated locally, then introspected for the claims (lightweight JWTs).
 * - `refuse`: 401.
 *
 * A locally validated JWT cannot be forgotten into a new AS call, so evictions *refuse*:
 * - by token: until its `exp`;
 * - by `sub` / `client_id`: every JWT with that claim issued (`iat`, with the clock leeway) up to the eviction, for
 *   `jwt.maxTokenLifetimeSeconds`;
 * - by a session's subject (`revokeSessionless`, back-channel logout): the subject's JWTs without `sid` issued up to the logout.
 * Each is a mark in this process and, with a shared store, in it (claim values hashed): every replica —
 * also one started later — reads the marks before accepting a JWT it has not verified yet, and running
 * replicas drop their remembered verifications on the eviction broadcast of the cache.
 */
export class JwtAccessTokens implements TokenPath {
  /** Token marks: cache key → refused until (epoch ms). */
  private readonly deniedTokens = new Map<string, number>();
  /** Claim marks: `claim:hash` → { refused when issued at or before `at`, mark kept `until` } (epoch ms). */
  private readonly deniedClaims = new Map<string, { at: number; until: number }>();
  private readonly claimSalt: string;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly validator: JwtAccessTokenValidator | undefined,
    private readonly cache: IntrospectionCache | null,
    /** Where the revocation marks reach every replica (the `SHARED_STATE` port). */
    private readonly sharedState: SharedState,
  ) {
    this.claimSalt = `${options.cacheNamespace}\u0000jwt-claim\u0000`;
  }

  /** Whether this token takes the JWT path (not `mode: 'introspect'`, and JWT-shaped). */
  handles(token: string): boolean {
    return this.options.jwt.mode !== 'introspect' && looksLikeJwt(token);
  }

  /**
   * The result for a JWT-shaped token. Rejects with `AuthorizationServerUnavailableError` when the keys
   * (or, where it is asked, the introspection endpoint) cannot answer.
   */
  async resolve(
    token: string,
    options: IntrospectOptions | undefined,
    introspectAtServer: IntrospectAtServer,
  ): Promise<{ result: IntrospectionResult; source: ResultSource }> {
    const mode = this.options.jwt.mode;
    if (mode === 'refuse' || !this.validator) return { result: inactive('jwt_not_accepted'), source: 'jwt' };
    const cache = this.cache;
    const key = this.keyOf(token);
    if (this.tokenDenied(key)) return { result: inactive('revoked'), source: 'jwt' };
    const askServer = options?.requireIntrospection === true;
    if (cache && !askServer) {
      const record = cache.readLocal(key);
      if (record && (!record.result.active || Date.now() < (record as { freshUntil: number }).freshUntil)) {
        return { result: record.result, source: 'cache' };
      }
    }

    const epoch = cache?.epoch ?? 0;
    const local = await this.validator.validate(token);
    if (!local.active) {
      // Remembered (a client retrying with its expired token costs no signature check), except a signature
      // failure: a token signed with a key published after our last refresh must pass once the keys are refreshed.
      if (local.reason !== 'invalid_signature') cache?.rememberLocal(key, local, 0, epoch);
      return { result: local, source: 'jwt' };
    }
    if (this.sharedState.sharesMarks) await this.readSharedMarks(key, local);
    // Checked after every await: an eviction that resolved meanwhile wins.
    if (this.tokenDenied(key) || this.claimDenied(local)) return { result: inactive('revoked'), source: 'jwt' };

    if (mode === 'local-then-introspect' || askServer) {
      // The answer says whether the token is still active; what it omits (aud, iss, ...) the signed token says.
      const answer = await introspectAtServer(token, options, local);
      if (!answer.active && answer.reason === 'rejected_by_authorization_server') {
        // A valid JWT the AS will not introspect (oidc-provider: unsupported_token_type): its revocation
        // status cannot be known, so the route cannot be served — not a verdict on the token (never 401).
        throw new AuthorizationServerUnavailableError(
          'unexpected_status',
          this.options.resilience.retryAfterSeconds,
          'The authorization server does not introspect JWT access tokens, so a route that requires introspection cannot accept them.',
        );
      }
      // The AS said this JWT is no longer active: what it said last counts until the token expires.
      if (!answer.active && answer.reason === 'inactive') await this.denyToken(key, local.exp);
      // An eviction that resolved while the AS was asked wins over its (earlier) answer.
      if (answer.active && (this.tokenDenied(key) || this.claimDenied(local))) return { result: inactive('revoked'), source: 'jwt' };
      return { result: answer, source: 'authorization-server' };
    }
    if (cache && this.options.jwt.verificationCacheMs > 0) {
      const expMs = typeof local.exp === 'number' ? local.exp * 1000 : Number.POSITIVE_INFINITY;
      cache.rememberLocal(key, local, Math.min(Date.now() + this.options.jwt.verificationCacheMs, expMs), epoch);
    }
    return { result: local, source: 'jwt' };
  }

  /** The verified claims of a JWT this API validates locally, or undefined when it does not validate (now). */
  async signedClaims(token: string): Promise<ActiveIntrospectionResult | undefined> {
    if (!this.validator || !this.handles(token)) return undefined;
    const local = await this.validator.validate(token).catch(() => undefined);
    return local?.active ? local : undefined;
  }

  /**
   * Refuses a JWT until it expires (its `exp`, read without verification: only how long the refusal lasts
   * depends on it), here and — with a shared store — on every replica. Resolves to false for a token that
   * is not JWT-shaped.
   */
  async revoke(token: string): Promise<boolean> {
    if (!this.handles(token)) return false;
    let exp: unknown;
    try {
      exp = (await loadJose()).decodeJwt(token).exp;
    } catch {
      exp = undefined;
    }
    await this.denyToken(this.keyOf(token), typeof exp === 'number' ? exp : undefined);
    return true;
  }

  /**
   * Refuses every JWT whose `sub` / `client_id` is `value` and that was issued (`iat`) up to now — JWTs
   * without `iat` included — for `jwt.maxTokenLifetimeSeconds`; tokens issued later pass.
   */
  async revokeBy(claim: JwtEvictionClaim, value: string): Promise<void> {
    if (this.options.jwt.mode === 'introspect') return;
    const at = Date.now();
    const ttl = this.options.jwt.maxTokenLifetimeMs + this.options.clockSkewSeconds * 1000;
    const mark = this.claimMark(claim, value);
    this.deniedClaims.set(mark, { at, until: at + ttl });
    this.sweep();
    await this.sharedState.writeMark(mark, at, ttl);
  }

  /**
   * Refuses every JWT of subject `sub` that names no session (no `sid` claim) and was issued (`iat`, or unknown)
   * up to `issuedBefore` (epoch seconds, at most now; default now), for `jwt.maxTokenLifetimeSeconds`. A session
   * logout (`sid` + `sub`) reaches with it the JWT access tokens that carry no `sid` (oidc-provider's): which session
   * they belong to cannot be told, so they are all refused; JWTs naming a session, and later ones, pass.
   */
  async revokeSessionless(sub: string, issuedBefore?: number): Promise<void> {
    if (this.options.jwt.mode === 'introspect') return;
    const now = Date.now();
    const at = typeof issuedBefore === 'number' && Number.isFinite(issuedBefore) ? Math.min(now, issuedBefore * 1000) : now;
    const ttl = this.options.jwt.maxTokenLifetimeMs + this.options.clockSkewSeconds * 1000;
    const mark = this.claimMark(SESSIONLESS_SUB, sub);
    // An earlier logout of the subject may have refused more already: keep the later bound.
    const refusedUpTo = Math.max(at, this.deniedClaims.get(mark)?.at ?? 0);
    this.deniedClaims.set(mark, { at: refusedUpTo, until: now + ttl });
    this.sweep();
    await this.sharedState.writeMark(mark, refusedUpTo, ttl);
  }

  private keyOf(token: string): string {
    return this.cache ? this.cache.key(token) : hash('sha256', token, 'base64url');
  }

  private claimMark(claim: JwtEvictionClaim | typeof SESSIONLESS_SUB, value: string): string {
    // Hashed and salted per service: a subject can be personal data, and the shared store must not hold it in clear.
    return `${claim}:${hash('sha256', this.claimSalt + value, 'base64url')}`;
  }

  /** Marks other replicas wrote: one batched read per verification (not per cache hit). */
  private async readSharedMarks(key: string, result: ActiveIntrospectionResult): Promise<void> {
    const claimMarks = CLAIMS.filter((claim) => typeof result[claim] === 'string').map((claim) => this.claimMark(claim, result[claim] as string));
    if (typeof result.sid !== 'string' && typeof result.sub === 'string') claimMarks.push(this.claimMark(SESSIONLESS_SUB, result.sub));
    const [until, ...ats] = await this.sharedState.readMarks([key, ...claimMarks]);
    if (until !== undefined) this.denyLocally(key, until);
    ats.forEach((at, i) => {
      // A newer mark another replica wrote (a later eviction of the same value) replaces an older one known here.
      if (at !== undefined && !((this.deniedClaims.get(claimMarks[i])?.at ?? -1) >= at)) {
        this.deniedClaims.set(claimMarks[i], { at, until: at + this.options.jwt.maxTokenLifetimeMs + this.options.clockSkewSeconds * 1000 });
      }
    });
  }

  private async denyToken(key: string, exp: number | undefined): Promise<void> {
    const until = exp !== undefined ? (exp + this.options.clockSkewSeconds) * 1000 : Date.now() + DENY_WITHOUT_EXP_MS;
    this.denyLocally(key, until);
    await this.sharedState.writeMark(key, until, until - Date.now());
  }

  private denyLocally(key: string, until: number): void {
    if (until <= Date.now()) return;
    this.deniedTokens.set(key, until);
    this.sweep();
  }

  private sweep(): void {
    if (this.deniedTokens.size + this.deniedClaims.size < SWEEP_AT) return;
    const now = Date.now();
    for (const [k, until] of this.deniedTokens) if (until <= now) this.deniedTokens.delete(k);
    for (const [k, mark] of this.deniedClaims) if (mark.until <= now) this.deniedClaims.delete(k);
  }

  private tokenDenied(key: string): boolean {
    if (this.deniedTokens.size === 0) return false;
    const until = this.deniedTokens.get(key);
    return until !== undefined && until > Date.now();
  }

  /** Issued (`iat`, or unknown) at or before an eviction of its `sub` / `client_id` / `jti` / `sid` still in force. */
  private claimDenied(result: ActiveIntrospectionResult): boolean {
    if (this.deniedClaims.size === 0) return false;
    const now = Date.now();
    for (const claim of CLAIMS) {
      const value = result[claim];
      if (typeof value !== 'string') continue;
      const mark = this.deniedClaims.get(this.claimMark(claim, value));
      if (mark && this.marks(mark, result, now)) return true;
    }
    if (typeof result.sid !== 'string' && typeof result.sub === 'string') {
      const mark = this.deniedClaims.get(this.claimMark(SESSIONLESS_SUB, result.sub));
      if (mark && this.marks(mark, result, now)) return true;
    }
    return false;
  }

  /** Whether a claim mark in force covers a token issued at `result.iat` (unknown: covered). */
  private marks(mark: { at: number; until: number }, result: ActiveIntrospectionResult, now: number): boolean {
    return mark.until > now && (typeof result.iat !== 'number' || result.iat * 1000 <= mark.at + this.options.clockSkewSeconds * 1000);
  }
}
