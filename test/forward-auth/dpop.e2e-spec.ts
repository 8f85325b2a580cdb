import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { SignJWT } from 'jose';
import { ADAPTERS } from '../support/app.js';
import { TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { accessTokenHash, dpopKeyPair, type DpopKeyPair } from '../support/dpop.js';
import { GATEWAY_HOST, gateways, identityOf, startDecisionApp } from '../support/forward-auth.js';

/** A DPoP proof (RFC 9449 §4.2) for `htm` `htu` with `token`. */
function proof(key: DpopKeyPair, htm: string, htu: string, token: string): Promise<string> {
  return new SignJWT({ htm, htu, jti: randomUUID(), ath: accessTokenHash(token) })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk })
    .setIssuedAt()
    .sign(key.privateKey);
}

/**
 * DPoP through a gateway: the forwarded `DPoP` header is the proof; `htm` is the original method and `htu` the URI
 * the client addressed, from the forwarded headers (Traefik, nginx) or from the path suffix and Host (Envoy).
 */
describe.each(ADAPTERS)('forward-auth with DPoP-bound tokens over %s', (adapter) => {
  let as: TestAuthorizationServer;
  const apps: INestApplication[] = [];
  let traefik: string;
  let envoy: string;
  let key: DpopKeyPair;
  let token: string;

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    const locations = [{ prefix: '/bound', requireDpop: true }];
    const a = await startDecisionApp(adapter, introspectionAt(as), { locations });
    const b = await startDecisionApp(adapter, introspectionAt(as), { locations, originalRequest: 'path' });
    apps.push(a.app, b.app);
    traefik = a.decision;
    envoy = b.decision;
    key = await dpopKeyPair();
    token = await as.issueToken({ scope: 'read', dpop: key });
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await as?.stop();
  });
  const dpop = async (htm: string, htu: string) => ({ authorization: `DPoP ${token}`, dpop: await proof(key, htm, htu, token) });

  it('Traefik: a proof for the original method and https://<forwarded host><forwarded path>: 200', async () => {
    const headers = await dpop('POST', `https://${GATEWAY_HOST}/bound/orders`);
    const res = await gateways.traefik(traefik, { method: 'POST', uri: '/bound/orders?x=1', headers });
    expect(res.status).toBe(200);
    expect(res.headers['x-auth-scopes']).toBe('read');
  });

  it('Envoy: a proof for the original method and the path below the decision path, with the original Host: 200', async () => {
    const headers = await dpop('GET', `https://${GATEWAY_HOST}/bound/orders`);
    expect((await gateways.envoy(envoy, { uri: '/bound/orders', headers })).status).toBe(200);
  });

  it('a proof for another URI (the decision endpoint’s own) or another method: 401 invalid_dpop_proof, no identity', async () => {
    for (const [htm, htu] of [
      ['GET', traefik],
      ['GET', `https://${GATEWAY_HOST}/other`],
      ['DELETE', `https://${GATEWAY_HOST}/bound/orders`],
    ]) {
      const res = await gateways.traefik(traefik, { uri: '/bound/orders', headers: await dpop(htm, htu) });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^DPoP .*error="invalid_dpop_proof"/);
      expect(identityOf(res)).toEqual({});
    }
  });

  it('a replayed proof is refused the second time', async () => {
    const headers = await dpop('GET', `https://${GATEWAY_HOST}/bound/replay`);
    expect((await gateways.traefik(traefik, { uri: '/bound/replay', headers })).status).toBe(200);
    expect((await gateways.traefik(traefik, { uri: '/bound/replay', headers })).status).toBe(401);
  });

  it('the DPoP-bound token sent as Bearer: 401; a requireDpop location refuses it with a DPoP challenge', async () => {
    const res = await gateways.traefik(traefik, { uri: '/bound/orders', headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
    expect(String(res.headers['www-authenticate'])).toMatch(/DPoP/);
  });
});
