import { hash } from 'node:crypto';
import type { CryptoKey, FlattenedJWSInput, JSONWebKeySet, JWSHeaderParameters, JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SharedState } from '../cache/shared-state.js';
import { AuthorizationServerUnavailableError } from '../errors/introspection.errors.js';
import { verifyWithKeys } from '../keys/authorization-server-keys.js';
import { jose, joseCode, loadJose } from '../utils/jose.js';

/** Why a pushed token was refused; each receiver maps it to its protocol's error code. */
export type RefusalCategory =
  | 'malformed'
  | 'content_type'
  | 'too_large'
  | 'typ'
  | 'unsigned'
  | 'algorithm'
  | 'unknown_key'
  | 'signature'
  | 'issuer'
  | 'audience'
  | 'iat'
  | 'expired'
  | 'replayed'
  | 'payload';

/** A pushed token (SET or logout token) that is not acceptable: the sender gets a 400. */
export class PushRefusal extends Error {
  override readonly name = 'PushRefusal';
  constructor(
    readonly category: RefusalCategory,
    message: string,
  ) {
    super(message);
  }
}

/** The receiver could not process a pushed token now (keys or Redis unreachable, eviction failed): 503, the sender retries. */
export class PushUnavailable extends Error {
  override readonly name = 'PushUnavailable';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type KeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

export interface SignedEventPolicy {
  readonly issuer: string;
  readonly audience: readonly string[];
  readonly algorithms: readonly string[];
  /** `typ` values accepted (normalized: lower case, without `application/`); `undefined` in the list: no `typ` is accepted. */
  readonly types: ReadonlyArray<string | undefined>;
  readonly maxAgeSeconds: number;
  readonly clockSkewSeconds: number;
  readonly retryAfterSeconds: number;
}

/**
 * Verifies a JWT pushed by a sender (a Shared Signals transmitter, an OpenID Provider): compact JWS, `typ`,
 * `alg` from configuration only (never `none`), signature with the sender's keys, `iss`, `aud`, and `iat`
 * within `maxAgeSeconds` (not in the future). jose does the JOSE work; it is loaded lazily.
 */
export class SignedEventVerifier {
  constructor(
    private readonly policy: SignedEventPolicy,
    /** Lazily: the sender's keys, as a jose key resolver. */
    private readonly keys: () => Promise<KeyResolver>,
  ) {}

  async verify(token: string): Promise<{ payload: JWTPayload; header: JWSHeaderParameters }> {
    const { decodeProtectedHeader } = await loadJose();
    if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) throw new PushRefusal('malformed', 'The body is not a compact JWS (three base64url segments).');
    let header: JWSHeaderParameters;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new PushRefusal('malformed', 'The JWS header cannot be decoded.');
    }
    const typ = typeof header.typ === 'string' ? header.typ.toLowerCase().replace(/^application\//, '') : undefined;
    if (!this.policy.types.includes(typ)) {
      throw new PushRefusal('typ', `The "typ" header ${header.typ === undefined ? 'is missing' : `'${String(header.typ)}' is not accepted`}.`);
    }
    if (typeof header.alg !== 'string' || header.alg.toLowerCase() === 'none')
      throw new PushRefusal('unsigned', 'Unsigned tokens (alg "none") are not accepted.');
    if (!this.policy.algorithms.includes(header.alg)) throw new PushRefusal('algorithm', `The algorithm '${header.alg}' is not accepted.`);
    try {
      const { payload } = await verifyWithKeys(token, await this.keys(), {
        issuer: this.policy.issuer,
        audience: [...this.policy.audience],
        algorithms: [...this.policy.algorithms],
        maxTokenAge: this.policy.maxAgeSeconds,
        clockTolerance: this.policy.clockSkewSeconds,
      });
      return { payload, header };
    } catch (error) {
      throw this.classify(error);
    }
  }

  private classify(error: unknown): Error {
    if (error instanceof AuthorizationServerUnavailableError) {
      return new PushUnavailable(`The sender's keys cannot be fetched: ${error.message}`, error.retryAfterSeconds, { cause: error });
    }
    const code = joseCode(error);
    const claim = (error as { claim?: string }).claim;
    switch (code) {
      case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
        return new PushRefusal('signature', "The signature does not verify with the sender's key.");
      case 'ERR_JWKS_NO_MATCHING_KEY':
      case 'ERR_JWK_INVALID':
      case 'ERR_JOSE_NOT_SUPPORTED':
        return new PushRefusal('unknown_key', 'No key of the sender matches the token\'s header ("kid", "alg").');
      case 'ERR_JOSE_ALG_NOT_ALLOWED':
        return new PushRefusal('algorithm', 'The algorithm is not accepted.');
      case 'ERR_JWT_EXPIRED':
        return claim === 'iat'
          ? new PushRefusal('iat', `"iat" is older than ${this.policy.maxAgeSeconds} s.`)
          : new PushRefusal('expired', 'The token has expired ("exp").');
      case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
        if (claim === 'iss') return new PushRefusal('issuer', 'The "iss" claim is not the configured issuer.');
        if (claim === 'aud') return new PushRefusal('audience', 'The "aud" claim does not name this receiver.');
        if (claim === 'iat' || claim === 'nbf') return new PushRefusal('iat', `"${claim}" is missing, in the future, or not a number.`);
        return new PushRefusal('malformed', `The "${claim ?? 'unknown'}" claim is not acceptable.`);
      default:
        return new PushRefusal('malformed', 'The token cannot be parsed as a signed JWT.');
    }
  }
}

/** A key resolver over a static JWK Set (public signature keys only). */
export async function staticKeys(jwks: JSONWebKeySet): Promise<KeyResolver> {
  await loadJose();
  const keys = jwks.keys
    .filter((k) => k && typeof k === 'object' && k.kty !== 'oct' && (k.use === undefined || k.use === 'sig'))
    .map(({ d, p, q, dp, dq, qi, k, ...pub }) => pub);
  return jose().createLocalJWKSet({ keys });
}

/** A replay record's value while the token is being acted on, and once it has been. */
const PENDING = 'pending';
const DONE = 'done';
/** How often a duplicate looks again whether the token it waits for was acted on. */
const POLL_MS = 50;

/**
 * Remembers the `jti` of accepted pushed tokens for as long as they can pass the `iat` check, so a token is
 * acted on once: across replicas with `cache.redis`, in a bounded in-process set otherwise.
 *
 * Redis holds a record in two steps, so a failure can never turn the sender's retry into a "replay":
 * - `claim`: SET NX a *pending* record that expires after `resilience.retryAfterSeconds` (the Retry-After of a
 *   503). A duplicate arriving meanwhile waits (bounded) for the outcome: acted on → replay; record gone → it
 *   claims the token itself.
 * - `complete`, after the evictions succeeded: the record becomes *done* for the whole window.
 * A token whose processing fails is released (best effort); when Redis is gone and cannot even delete it, the
 * pending record expires by the time a sender that honours Retry-After tries again. A race costs at most a
 * second, idempotent, eviction.
 */
export class ReplayGuard {
  private readonly seen: LRUCache<string, true>;
  private readonly pendingMs: number;

  constructor(
    private readonly kind: string,
    private readonly windowMs: number,
    private readonly sharedState: SharedState,
    private readonly retryAfterSeconds: number,
    maxRemembered = 100_000,
  ) {
    this.seen = new LRUCache({ max: maxRemembered, ttl: windowMs });
    this.pendingMs = Math.min(windowMs, Math.max(1000, retryAfterSeconds * 1000));
  }

  /** The replay key of a token: issuer and jti, hashed (bounded length, nothing of the sender's values in Redis). */
  id(issuer: string, jti: string): string {
    return hash('sha256', `${issuer}\u0000${jti}`, 'base64url');
  }

  /**
   * Takes the id for processing; rejects with `PushRefusal('replayed')` when it was seen, `PushUnavailable` when
   * Redis cannot answer (or another replica is still processing the same token after `pendingMs`).
   */
  async claim(id: string): Promise<void> {
    if (this.seen.has(id)) throw replayed();
    this.seen.set(id, true);
    try {
      await this.claimShared(id);
    } catch (error) {
      this.seen.delete(id);
      throw error;
    }
  }

  /** The token was acted on: its shared record lasts the whole window. Resolves false when Redis could not record it (a replay may then act once more). */
  async complete(id: string): Promise<boolean> {
    try {
      await this.sharedState.record(id, DONE, this.windowMs, this.kind);
      return true;
    } catch {
      return false;
    }
  }

  /** Forgets the id (best effort): the token was not acted on. */
  async release(id: string): Promise<void> {
    this.seen.delete(id);
    await this.sharedState.release(id, this.kind).catch(() => undefined);
  }

  private async claimShared(id: string): Promise<void> {
    const deadline = Date.now() + this.pendingMs;
    try {
      for (;;) {
        const first = await this.sharedState.claimOnce(id, this.pendingMs, this.kind, PENDING);
        if (first !== false) return; // true: ours; undefined: no shared store
        const state = await this.sharedState.recorded(id, this.kind);
        if (state !== null && state !== PENDING) throw replayed();
        if (Date.now() >= deadline) {
          throw new PushUnavailable('The same token is being processed by another replica; retry later.', this.retryAfterSeconds);
        }
        await sleep(POLL_MS);
      }
    } catch (error) {
      if (error instanceof PushRefusal || error instanceof PushUnavailable) throw error;
      throw new PushUnavailable('The replay check cannot reach Redis.', this.retryAfterSeconds, { cause: error });
    }
  }
}

function replayed(): PushRefusal {
  return new PushRefusal('replayed', 'This token was already received ("jti" replay).');
}
