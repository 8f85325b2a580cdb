import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { ADAPTERS } from '../../support/app.js';
import { TestAuthorizationServer, introspectionAt } from '../../support/authorization-server.js';
import { gateways, identityOf, startDecisionApp } from '../../support/forward-auth.js';

/** The decision endpoint answers gateways only: the TCP peer decides, never a header a client can send. */
describe.each(ADAPTERS)('forward-auth refuses peers that are not trusted gateways over %s', (adapter) => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let decision: string;
  let token: string;

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    // This test's requests come from 127.0.0.1: a gateway elsewhere is the only trusted peer.
    ({ app, decision } = await startDecisionApp(adapter, introspectionAt(as), { trustedProxies: ['10.1.2.3', 'fd00::/8'] }));
    token = await as.issueToken({ scope: 'read' });
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
  });

  it('a valid token from an untrusted peer: 403, no identity headers, no call to the authorization server', async () => {
    as.resetCounters();
    const res = await gateways.traefik(decision, { uri: '/orders', headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(403);
    expect(res.body.message).toMatch(/trusted gateways/);
    expect(identityOf(res)).toEqual({});
    expect(as.introspectionRequests).toBe(0);
  });

  it('X-Forwarded-For, X-Real-IP or Forwarded naming a trusted gateway change nothing: 403', async () => {
    const res = await gateways.nginx(decision, {
      uri: '/orders',
      headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': '10.1.2.3', 'x-real-ip': '10.1.2.3', forwarded: 'for=10.1.2.3' },
    });
    expect(res.status).toBe(403);
  });

  it('Envoy-shaped requests (the path below the decision path) are refused the same way', async () => {
    const res = await gateways.envoy(decision, { uri: '/orders', headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(403);
  });
});
