// Adversarial review of the DPoP replay check across replicas (round 14; was attack14-redis).
import { expect, it } from '@jest/globals';
import { createHash, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { startDpopReplicas } from '../../support/dpop-replicas.js';
import { sleep } from '../../support/engine.js';
import { describeWithRedis } from '../../support/redis-server.js';

const ath = (token: string) => createHash('sha256').update(token).digest('base64url');

describeWithRedis('DPoP replay across replicas while Redis is frozen (SIGSTOP)', () => {
  it('a hung Redis neither delays a DPoP request past the store timeout much, nor lets a proof accepted by A during the hang replay on B once Redis is back', async () => {
    const { as, redis, a, b, stop } = await startDpopReplicas();
    try {
      await sleep(200);
      const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
      const key = { privateKey, publicJwk: await exportJWK(publicKey) };
      const token = await as.issueToken({ scope: 'read', dpop: key });
      const proof = () =>
        new SignJWT({ htm: 'GET', htu: 'https://api.example.com/orders', jti: randomUUID(), ath: ath(token) })
          .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk })
          .setIssuedAt()
          .sign(privateKey);
      const get = (url: string, p: string) => fetch(`${url}/orders`, { headers: { authorization: `DPoP ${token}`, dpop: p } });
      expect((await get(a.url, await proof())).status).toBe(200); // warm the token cache on A
      expect((await get(b.url, await proof())).status).toBe(200); // and on B
      redis.freeze();
      const captured = await proof();
      const started = Date.now();
      const first = await get(a.url, captured);
      const elapsed = Date.now() - started;
      const more: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t = Date.now();
        expect((await get(a.url, await proof())).status).toBe(200);
        more.push(Date.now() - t);
      }
      redis.thaw();
      await sleep(300);
      const replay = await get(b.url, captured);
      console.log(JSON.stringify({ firstStatus: first.status, firstMs: elapsed, replayOnBStatus: replay.status, laterMs: more }));
      expect(first.status).toBe(200);
      expect(replay.status).toBe(401); // held: the SET NX sent before the hang runs when Redis resumes
      // storeTimeoutMs is 200: a hung Redis costs a DPoP request about that (then the breaker skips Redis),
      // not 1 s each, every time (the defect). The smallest is far from 1 s even on a loaded machine.
      expect(Math.min(elapsed, ...more)).toBeLessThan(700);
    } finally {
      await stop();
    }
  }, 60_000);

  it('the same proof sent 10 times at once to each of two replicas (20 racing requests) is accepted exactly once', async () => {
    // Redis answers here: a bound that a loaded CI machine cannot exceed, so the check is never the degraded one
    // (beyond storeTimeoutMs it falls back to each replica alone, by design: see the test above).
    const { as, a, b, stop } = await startDpopReplicas({ storeTimeoutMs: 2000 });
    try {
      await sleep(200);
      const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
      const key = { privateKey, publicJwk: await exportJWK(publicKey) };
      const token = await as.issueToken({ scope: 'read', dpop: key });
      const proof = await new SignJWT({ htm: 'GET', htu: 'https://api.example.com/orders', jti: randomUUID(), ath: ath(token) })
        .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk })
        .setIssuedAt()
        .sign(privateKey);
      const get = (url: string) => fetch(`${url}/orders`, { headers: { authorization: `DPoP ${token}`, dpop: proof } }).then((r) => r.status);
      const statuses = await Promise.all(Array.from({ length: 20 }, (_, i) => get(i % 2 ? a.url : b.url)));
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.filter((s) => s === 401)).toHaveLength(19);
    } finally {
      await stop();
    }
  }, 60_000);
});
