import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, type JsonWebKey } from 'node:crypto';
import type { ModulesContainer } from '@nestjs/core';
import type { JWK } from 'jose';
import { IntrospectionConfigurationError } from '../errors/introspection.errors.js';
import { loadJose } from '../utils/jose.js';
import { warnOnce } from '../utils/startup-warnings.js';
import type { PhantomSigningKey } from './phantom-options.interface.js';

/** A key that signs phantom tokens, or is still published after a rotation. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: KeyObject;
  readonly publicJwk: JWK;
  /** Published until (epoch ms); undefined while it signs or is configured. */
  retireAt?: number;
}

/**
 * The phantom-token keys: the first signs; the others are published until their overlap after a
 * rotation has passed (configured ones stay published).
 */
export class PhantomKeyRing {
  private keys: SigningKey[] = [];

  /** @param overlapMs how long a key stays published after a rotation (`rotationOverlapSeconds`). */
  constructor(private readonly overlapMs: number) {}

  /** The key that signs (after {@link load}). */
  get signing(): SigningKey {
    return this.keys[0];
  }

  /** Loads the configured keys, or generates one (with a warning). A key that cannot be used fails start-up. */
  async load(configured: readonly PhantomSigningKey[] | undefined, modules?: ModulesContainer): Promise<void> {
    if (!configured?.length) {
      warnOnce(
        modules,
        'PhantomTokens',
        'phantom.keys is not set: signing phantom tokens with a key generated at start-up. Fine for development; in production ' +
          'configure `phantom.keys`, or each replica signs with its own key and a restart invalidates every phantom token in flight.',
      );
    }
    try {
      this.keys = await Promise.all((configured?.length ? configured : [generatedKey()]).map(toSigningKey));
    } catch (cause) {
      throw new IntrospectionConfigurationError(
        `\`phantom.keys\`: a key cannot be used (${(cause as Error).message}). Give a private key as PKCS#8 PEM, a private JWK or a KeyObject (EC P-256/P-384, RSA, Ed25519).`,
      );
    }
  }

  /** Starts signing with `key` (default: a new ES256 key); the previous keys retire after the overlap. Resolves to the new `kid`. */
  async rotate(key?: PhantomSigningKey): Promise<string> {
    const next = await toSigningKey(key ?? generatedKey());
    const now = Date.now();
    for (const k of this.keys) k.retireAt ??= now + this.overlapMs;
    this.keys = [next, ...this.keys];
    return next.kid;
  }

  /** The public keys as a JWK Set (RFC 7517 §5): the signing key and those still within their overlap. */
  jwks(): { keys: JWK[] } {
    const now = Date.now();
    this.keys = this.keys.filter((k, i) => i === 0 || k.retireAt === undefined || now < k.retireAt);
    return { keys: this.keys.map((k) => k.publicJwk) };
  }
}

function generatedKey(): PhantomSigningKey {
  return { privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey };
}

async function toSigningKey(key: PhantomSigningKey): Promise<SigningKey> {
  const { calculateJwkThumbprint } = await loadJose();
  const source = key.privateKey;
  const privateKey =
    typeof source === 'string'
      ? createPrivateKey(source)
      : 'kty' in source
        ? createPrivateKey({ key: source as JsonWebKey, format: 'jwk' })
        : (source as KeyObject);
  if (privateKey.type !== 'private') throw new Error('not a private key');
  const alg = key.alg ?? defaultAlgorithm(privateKey);
  const { kty, crv, x, y, n, e } = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  const publicJwk: JWK = Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined));
  const kid = key.kid ?? (await calculateJwkThumbprint(publicJwk));
  // A test signature now: an `alg` that does not fit the key fails start-up, not every request.
  const { SignJWT } = await loadJose();
  await new SignJWT({})
    .setProtectedHeader({ alg })
    .sign(privateKey)
    .catch((error: Error) => {
      throw new Error(`alg '${alg}' does not fit this key (${error.message})`);
    });
  return { kid, alg, privateKey, publicJwk: { ...publicJwk, kid, alg, use: 'sig' } };
}

function defaultAlgorithm(key: KeyObject): string {
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'ec':
      if (details?.namedCurve === 'prime256v1') return 'ES256';
      if (details?.namedCurve === 'secp384r1') return 'ES384';
      throw new Error(`unsupported curve ${details?.namedCurve}`);
    case 'rsa':
      if ((details?.modulusLength ?? 0) < 2048) throw new Error('RSA keys need at least 2048 bits');
      return 'RS256';
    case 'ed25519':
      return 'EdDSA';
    default:
      throw new Error(`unsupported key type ${key.asymmetricKeyType}`);
  }
}
