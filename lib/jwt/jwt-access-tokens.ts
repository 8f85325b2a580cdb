import { hash } from 'node:crypto';
import { decodeJwt } from 'jose';
import type { IntrospectionCache } from '../cache/introspection.cache.js';
import { inactive } from '../client/introspection-response.js';
import type { IntrospectOptions, IntrospectionResult } from '../interfaces/introspection-result.interface.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { ResultSource } from '../telemetry/introspection-events.interface.js';
import { looksLikeJwt, type JwtAccessTokenValidator } from './jwt-access-token.validator.js';

/** The introspection path of the service (cache, single-flight, resilience), for JWTs that must also be introspected. */
export type IntrospectAtServer = (token: string, options?: IntrospectOptions) => Promise<IntrospectionResult>;

/** How long an evicted JWT without a usable `exp` is refused (it cannot pass local validation anyway). */
const DENY_WITHOUT_EXP_MS = 24 * 3600 * 1000;

/**
 * Routes JWT-shaped bearer tokens (RFC 9068) per `jwt.mode`, beside the introspection of opaque tokens:
 * - `local`: validated with the AS's keys, the result remembered in the in-process tier for
 *   min(`verificationCacheSeconds`, exp); on `@RequireIntrospection()` routes *also* introspected.
 * - `local-then-introspect`: validated locally, then introspected for the claims (lightweight JWTs).
 * - `refuse`: 401.
 * Evictions of a JWT (by token) refuse it until its `exp`: in this process, and through a mark in the
 * shared store that every replica — also one started later — reads before accepting a JWT it has not
 * verified yet; running replicas drop their remembered verification on the eviction broadcast.
 */
export class JwtAccessTokens {
  /** Evicted JWTs of this process: key → refused until (epoch ms). Bounded by `exp`, pruned on insert. */
  private readonly denied = new Map<string, number>();

  constructor(
    private readonly options: ResolvedOptions,
    private readonly validator: JwtAccessTokenValidator | undefined,
    private readonly cache: IntrospectionCache | null,
  ) {}

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
    const key = cache ? cache.key(token) : hash('sha256', token, 'base64url');
    if (this.isDenied(key)) return { result: inactive('revoked'), source: 'jwt' };
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
    const sharedUntil = cache?.hasShared ? await cache.deniedShared(key) : undefined;
    if (sharedUntil !== undefined) this.denyLocally(key, sharedUntil);
    if (this.isDenied(key)) return { result: inactive('revoked'), source: 'jwt' };

    if (mode === 'local-then-introspect' || askServer) {
      const answer = await introspectAtServer(token, options);
      // The AS said this JWT is no longer active: what it said last counts until the token expires.
      if (!answer.active && answer.reason === 'inactive') await this.deny(key, local.exp);
      return { result: answer, source: 'authorization-server' };
    }
    if (cache && this.options.jwt.verificationCacheMs > 0) {
      const expMs = typeof local.exp === 'number' ? local.exp * 1000 : Number.POSITIVE_INFINITY;
      cache.rememberLocal(key, local, Math.min(Date.now() + this.options.jwt.verificationCacheMs, expMs), epoch);
    }
    return { result: local, source: 'jwt' };
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
      exp = decodeJwt(token).exp;
    } catch {
      exp = undefined;
    }
    const key = this.cache ? this.cache.key(token) : hash('sha256', token, 'base64url');
    await this.deny(key, typeof exp === 'number' ? exp : undefined);
    return true;
  }

  private async deny(key: string, exp: number | undefined): Promise<void> {
    const until = exp !== undefined ? (exp + this.options.clockSkewSeconds) * 1000 : Date.now() + DENY_WITHOUT_EXP_MS;
    this.denyLocally(key, until);
    await this.cache?.denyShared(key, until);
  }

  private denyLocally(key: string, until: number): void {
    const now = Date.now();
    if (until <= now) return;
    if (this.denied.size >= 1024) {
      for (const [k, u] of this.denied) if (u <= now) this.denied.delete(k);
    }
    this.denied.set(key, until);
  }

  private isDenied(key: string): boolean {
    if (this.denied.size === 0) return false;
    const until = this.denied.get(key);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.denied.delete(key);
    return false;
  }
}
