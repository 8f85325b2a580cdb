import { randomUUID } from 'node:crypto';
import { InvalidTokenError } from '../errors/introspection.errors.js';
import type { ActiveIntrospectionResult } from '../interfaces/introspection-result.interface.js';
import { loadJose } from '../utils/jose.js';
import type { PhantomKeyRing } from './phantom-keys.js';

/** A minted phantom token, as cached per (source cache entry, audience). */
export interface Minted {
  readonly jwt: string;
  /** Mint a new one from here on (epoch ms): a cached token is handed out only while most of its life is left. */
  readonly renewAt: number;
}

/** What every phantom token of this API carries: its issuer, its lifetime and the claims copied from the result. */
export interface PhantomClaimsPolicy {
  readonly issuer: string;
  readonly lifetimeSeconds: number;
  readonly claims: readonly string[];
}

/** Signs a phantom token (RFC 9068 shape) for `aud` from an active introspection result, with the ring's signing key. */
export async function signPhantomToken(
  keys: PhantomKeyRing,
  policy: PhantomClaimsPolicy,
  result: ActiveIntrospectionResult,
  aud: string,
  now: number,
): Promise<Minted> {
  const { SignJWT } = await loadJose();
  const key = keys.signing;
  const nowSeconds = Math.floor(now / 1000);
  const exp = Math.min(nowSeconds + policy.lifetimeSeconds, typeof result.exp === 'number' ? result.exp : Infinity);
  // RFC 9068 §2.2: sub and client_id are required; without a subject there is no identity to pass on.
  const subject = typeof result.sub === 'string' ? result.sub : typeof result.client_id === 'string' ? result.client_id : undefined;
  if (subject === undefined) throw new InvalidTokenError('inactive', 'The access token names neither a subject nor a client: there is no identity to pass on.');
  const claims: Record<string, unknown> = { client_id: result.client_id };
  if (result.scope !== undefined) claims.scope = result.scope;
  for (const name of policy.claims) if (result[name] !== undefined) claims[name] = result[name];
  const jwt = await new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
    .setIssuer(policy.issuer)
    .setAudience(aud)
    // RFC 9068 §2.2: a client acting for itself has its client id as subject.
    .setSubject(subject)
    .setJti(randomUUID())
    .setIssuedAt(nowSeconds)
    .setExpirationTime(exp)
    .sign(key.privateKey);
  // Handed out from the cache only while at least half of its lifetime is left.
  return { jwt, renewAt: now + ((exp - nowSeconds) * 1000) / 2 };
}
