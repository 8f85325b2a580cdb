import { createHmac, createPublicKey, hash, timingSafeEqual, type KeyObject } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { loadJose } from '../utils/jose.js';
import { DpopProofError } from '../errors/introspection.errors.js';
import type { DpopRequestContext, VerifiedDpopProof } from '../ports.js';

export { DpopProofError };
export type { DpopRequestContext, VerifiedDpopProof };

/** Rules from the module options (`dpop`). */
export interface DpopProofPolicy {
  /** Asymmetric JWS algorithms accepted for proofs. */
  readonly algorithms: readonly string[];
  /** How far `iat` may lie in the past, seconds. */
  readonly maxAgeSeconds: number;
  /** Leeway for an `iat` slightly in the future (and past the window), seconds. */
  readonly clockSkewSeconds: number;
  /** Longest proof accepted, characters. */
  readonly maxProofLength: number;
}

/** jose, once loaded (a dynamic import per proof would cost a module-loader round trip each time). */

/** Algorithms a DPoP proof may never use: none, and every symmetric one (RFC 9449 §4.2: asymmetric only). */
const FORBIDDEN = /^(none|HS\d+)$/i;
/** Members of a private or symmetric JWK: a proof carrying one is refused (RFC 9449 §4.2, §4.3 step 7). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
/** A compact JWS: three base64url segments. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Verifies a DPoP proof JWT (RFC 9449 §4.3) except the replay and nonce checks, which need state:
 * `typ` dpop+jwt; an allow-listed asymmetric `alg`; the signature with the embedded public `jwk`
 * (a private key is refused); `htm` and `htu` (normalised, without query and fragment); `iat` within
 * the window; `ath` = base64url(SHA-256(access token)). Resolves to the key thumbprint, which the
 * service compares with the token's `cnf.jkt`.
 */
export async function verifyDpopProof(
  proof: string,
  request: DpopRequestContext,
  policy: DpopProofPolicy,
  nowSeconds = Date.now() / 1000,
): Promise<VerifiedDpopProof> {
  const fail = (message: string): never => {
    throw new DpopProofError('invalid_dpop_proof', message);
  };
  if (proof.length > policy.maxProofLength) return fail(`The DPoP proof is longer than ${policy.maxProofLength} characters.`);
  if (!COMPACT_JWS.test(proof)) return fail('The DPoP proof is not a compact JWS.');
  // jose is ESM-only: loaded when the first proof arrives, so apps (and CommonJS Jest runs) that never see DPoP never load it.
  const jose = await loadJose();
  let header;
  try {
    header = jose.decodeProtectedHeader(proof);
  } catch {
    return fail('The DPoP proof header is not valid JSON.');
  }
  if (typeof header.alg !== 'string' || FORBIDDEN.test(header.alg) || !policy.algorithms.includes(header.alg)) {
    return fail(`The DPoP proof algorithm is not accepted (accepted: ${policy.algorithms.join(' ')}).`);
  }
  if (header.typ !== 'dpop+jwt') return fail('The DPoP proof must have typ "dpop+jwt".');
  const jwk = header.jwk as Record<string, unknown> | undefined;
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) return fail('The DPoP proof carries no public key ("jwk").');
  if (PRIVATE_MEMBERS.some((member) => member in jwk)) return fail('The DPoP proof "jwk" must be a public key, never a private or symmetric one.');
  let verified;
  let key: ProofKey;
  try {
    const found = await proofKey(jwk, jose);
    key = found;
    verified = await jose.jwtVerify(proof, key.publicKey, { typ: 'dpop+jwt', algorithms: [...policy.algorithms] });
    if (!found.cached) proofKeys.set(found.jkt, { publicKey: found.publicKey, jkt: found.jkt });
  } catch (error) {
    return fail(`The DPoP proof is not valid: ${describe(error)}.`);
  }
  const { payload } = verified;
  if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 256) return fail('The DPoP proof has no usable "jti".');
  if (payload.htm !== request.method) return fail('The DPoP proof was made for another HTTP method ("htm").');
  const expectedHtu = normalizeHtu(request.uri);
  if (expectedHtu === undefined || typeof payload.htu !== 'string' || normalizeHtu(payload.htu) !== expectedHtu) {
    return fail('The DPoP proof was made for another URI ("htu").');
  }
  const iat = payload.iat;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return fail('The DPoP proof has no "iat".');
  if (iat > nowSeconds + policy.clockSkewSeconds) return fail('The DPoP proof was issued in the future ("iat").');
  if (iat < nowSeconds - policy.maxAgeSeconds - policy.clockSkewSeconds) return fail('The DPoP proof is too old ("iat").');
  if (typeof payload.ath !== 'string') return fail('The DPoP proof has no access-token hash ("ath").');
  if (payload.ath !== accessTokenHash(request.accessToken)) return fail('The DPoP proof is not bound to this access token ("ath").');
  if (payload.nonce !== undefined && typeof payload.nonce !== 'string') return fail('The DPoP proof "nonce" must be a string.');
  return { jkt: key.jkt, jti: payload.jti, iat, nonce: payload.nonce };
}

interface ProofKey {
  readonly publicKey: KeyObject;
  readonly jkt: string;
}
/**
 * A client signs many proofs with one key: its imported KeyObject and RFC 7638 thumbprint are kept, so each
 * proof costs one signature check (jose's EmbeddedJWK would import the key per proof through WebCrypto:
 * about 3.5× slower). Keyed by the JWK as sent; only public keys get here.
 */
const proofKeys = new LRUCache<string, ProofKey>({ max: 10_000 });

/**
 * The proof's public key: imported once per key (RFC 7638 thumbprint), but kept only by the caller after a
 * signature made with it verified — so junk proofs cannot fill the cache. RSA keys are bounded before any
 * RSA work: a huge modulus or public exponent would make each junk proof cost many signature checks.
 */
async function proofKey(jwk: Record<string, unknown>, jose: typeof import('jose')): Promise<ProofKey & { cached: boolean }> {
  // Only the RFC 7638 members identify a key: padding a jwk with extra members changes nothing here.
  const jkt = await jose.calculateJwkThumbprint(jwk, 'sha256');
  const known = proofKeys.get(jkt);
  if (known) return { ...known, cached: true };
  if (jwk.kty === 'RSA') {
    const n = typeof jwk.n === 'string' ? Buffer.from(jwk.n, 'base64url') : Buffer.alloc(0);
    const e = typeof jwk.e === 'string' ? Buffer.from(jwk.e, 'base64url') : Buffer.alloc(0);
    if (n.length * 8 > 4096 || e.length > 4) throw new Error('the RSA key is out of bounds (modulus above 4096 bits or exponent above 2^32)');
  }
  const publicKey = createPublicKey({ key: jwk as never, format: 'jwk' });
  if (publicKey.type !== 'public') throw new Error('the "jwk" is not a public key');
  return { publicKey, jkt, cached: false };
}

/** How many proof keys are remembered (internal; tests check that junk proofs add none). */
export function proofKeyCacheSize(): number {
  return proofKeys.size;
}

/** `ath` (RFC 9449 §4.2): base64url of the SHA-256 of the ASCII access token. */
export function accessTokenHash(token: string): string {
  return hash('sha256', token, 'base64url');
}

/**
 * RFC 9449 §4.3 step 9: compare without query and fragment, after RFC 3986 syntax- and scheme-based
 * normalisation (case of scheme and host, default ports, dot segments, percent-encoding case) —
 * what the WHATWG URL parser does. Unparsable values never match.
 */
export function normalizeHtu(value: string): string | undefined {
  try {
    const url = new URL(value);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    return `${url.protocol}//${url.host}${url.pathname.replace(/%[0-9a-f]{2}/gi, (m) => m.toUpperCase())}`;
  } catch {
    return undefined;
  }
}

/**
 * Stateless server nonces (RFC 9449 §9): `<time bucket>.<HMAC>`. A nonce is good during its bucket and
 * the next one, on every replica that shares the secret; nothing is stored.
 */
export class DpopNonces {
  constructor(
    private readonly secret: string,
    private readonly lifetimeMs: number,
  ) {}

  /** The nonce clients should use now (sent in `DPoP-Nonce`). */
  current(nowMs = Date.now()): string {
    return this.make(Math.floor(nowMs / this.lifetimeMs));
  }

  isValid(nonce: string | undefined, nowMs = Date.now()): boolean {
    if (typeof nonce !== 'string' || nonce.length > 64) return false;
    const bucket = Math.floor(nowMs / this.lifetimeMs);
    return [bucket, bucket - 1].some((b) => {
      const expected = Buffer.from(this.make(b));
      const given = Buffer.from(nonce);
      return expected.length === given.length && timingSafeEqual(expected, given);
    });
  }

  private make(bucket: number): string {
    return `${bucket.toString(36)}.${createHmac('sha256', this.secret).update(String(bucket)).digest('base64url').slice(0, 32)}`;
  }
}

function describe(error: unknown): string {
  const e = error as { message?: string };
  return (e?.message ?? String(error))
    .replace(/[^\x20-\x7E]/g, '')
    .replace(/"/g, "'")
    .slice(0, 120);
}
