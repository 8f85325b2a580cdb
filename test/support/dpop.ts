import { createHash, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

/** A client's DPoP key pair (ES256): the private key signs proofs, the public JWK goes in their header. */
export interface DpopKeyPair {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function dpopKeyPair(): Promise<DpopKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, publicJwk: await exportJWK(publicKey) };
}

/** RFC 9449 §4.2 `ath`: base64url SHA-256 of the access token. */
export const accessTokenHash = (token: string): string => createHash('sha256').update(token).digest('base64url');

/** A valid DPoP proof (RFC 9449 §4.2) for a GET of `htu` with `token`. */
export function dpopProof(key: DpopKeyPair, htu: string, token: string, jti: string = randomUUID()): Promise<string> {
  return new SignJWT({ htm: 'GET', htu, jti, ath: accessTokenHash(token) })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk })
    .setIssuedAt()
    .sign(key.privateKey);
}
