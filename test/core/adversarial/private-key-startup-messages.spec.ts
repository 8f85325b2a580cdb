// Adversarial review of private_key_jwt keys at start-up (round 11; was attack11-private-key).
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { checkPrivateKey } from '../../../lib/client/private-key-check.js';

/**
 * Attack (issue 11 review, defect 9): careless-operator private keys must fail at start-up with a message that names the fix.
 * All three are refused at start-up (held); the first two get a misleading message ("key type does not match the algorithm",
 * "not a PKCS#8 PEM") instead of naming the real problem (escaped newlines; an encrypted key).
 */
describe('privateKey variants at start-up', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

  it.each([
    ['PEM with literal \\n (a one-line environment variable)', pem.replace(/\n/g, '\\n'), /\\n|newline|line break/i],
    ['encrypted PKCS#8', rsa.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string, /encrypt|passphrase/i],
    [
      'RSA 1024 bits',
      generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      /2048|modulus|too small/i,
    ],
  ])('%s: refused at start-up, and the message says what is wrong', async (_name, key, says) => {
    const error = await checkPrivateKey(key, 'RS256').then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error!.message).toMatch(says);
  });
});
