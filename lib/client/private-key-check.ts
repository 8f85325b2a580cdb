import { KeyObject } from 'node:crypto';
import { IntrospectionConfigurationError } from '../errors/introspection.errors.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { loadJose } from '../utils/jose.js';

/**
 * Imports `privateKey` the way client authentication will, and signs a throw-away JWT with it, so a
 * wrong key fails start-up with what to change instead of failing every lookup later.
 */
export async function checkPrivateKey(key: NonNullable<ResolvedOptions['privateKey']>, alg: string): Promise<void> {
  const problem = (what: string): never => {
    throw new IntrospectionConfigurationError(`Invalid IntrospectionModule options:\n  - \`privateKey\` ${what}`);
  };
  let imported: unknown = key;
  const { importJWK, importPKCS8, SignJWT } = await loadJose();
  if (typeof key === 'string') {
    if (/-----BEGIN (RSA |EC )?PUBLIC KEY-----|-----BEGIN CERTIFICATE-----/.test(key)) {
      problem('is a public key or certificate: give the *private* key (PKCS#8 PEM, "-----BEGIN PRIVATE KEY-----").');
    }
    if (key.includes('\\n') && !key.includes('\n')) {
      problem(
        'contains the two characters "\\n" instead of line breaks (a PEM pasted into a one-line environment variable): replace them with real newlines, e.g. `privateKey: process.env.KEY.replace(/\\\\n/g, "\\n")`.',
      );
    }
    if (key.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
      problem(
        'is an encrypted PKCS#8 PEM: give the unencrypted key ("-----BEGIN PRIVATE KEY-----"), e.g. `openssl pkcs8 -topk8 -nocrypt -in encrypted.pem`, or a KeyObject from crypto.createPrivateKey({ key, passphrase }).',
      );
    }
    const legacy = /-----BEGIN (RSA|EC) PRIVATE KEY-----/.exec(key);
    if (legacy) {
      problem(
        `is a ${legacy[1]} (${legacy[1] === 'RSA' ? 'PKCS#1' : 'SEC1'}) PEM; it must be PKCS#8 ("-----BEGIN PRIVATE KEY-----"): convert it with \`openssl pkcs8 -topk8 -nocrypt -in key.pem\`.`,
      );
    }
    if (!key.includes('-----BEGIN PRIVATE KEY-----'))
      problem('is a string but not a PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----" … "-----END PRIVATE KEY-----").');
    imported = await importPKCS8(key, alg).catch((e: Error) =>
      problem(
        `could not be imported for \`privateKeyAlgorithm\` '${alg}' (${e.message}): check that the key type matches the algorithm (RS*/PS* need an RSA key, ES256 a P-256 key, EdDSA an Ed25519 key).`,
      ),
    );
  } else if (typeof key === 'object' && key !== null && 'kty' in key) {
    if (!('d' in key)) problem('is a public JWK (no "d"): give the private JWK.');
    imported = await importJWK(key, alg).catch((e: Error) =>
      problem(`(a JWK of kty '${String(key.kty)}') could not be imported for \`privateKeyAlgorithm\` '${alg}' (${e.message}).`),
    );
  } else if (key instanceof KeyObject) {
    if (key.type !== 'private') problem(`is a ${key.type} KeyObject: give the private key (crypto.createPrivateKey()).`);
  } else if ((key as { type?: unknown })?.type !== 'private') {
    problem('must be a private JWK, a PKCS#8 PEM string, a private KeyObject or a private CryptoKey.');
  }
  await new SignJWT({})
    .setProtectedHeader({ alg })
    .sign(imported as KeyObject)
    .catch((e: Error) => problem(`cannot sign with \`privateKeyAlgorithm\` '${alg}' (${e.message}): set the algorithm that matches the key.`));
}
