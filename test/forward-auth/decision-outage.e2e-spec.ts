import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { ADAPTERS } from '../support/app.js';
import { TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { FaultyServer, behave } from '../support/faulty-server.js';
import { GATEWAYS, gateways, identityOf, startDecisionApp } from '../support/forward-auth.js';

const RESILIENCE = { retries: 0, attemptTimeoutMs: 300, deadlineMs: 600, retryAfterSeconds: 11 };

/** When the authorization server cannot answer, the decision is 503 with Retry-After: never a 401, a 500, or a 200. */
describe.each(ADAPTERS)('forward-auth decision during an authorization-server outage over %s', (adapter) => {
  const apps: INestApplication[] = [];
  const servers: Array<{ stop(): Promise<void> }> = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    for (const server of servers.splice(0)) await server.stop();
  });

  it.each(GATEWAYS)('the AS stopped (asked as %s): 503 with Retry-After, no identity headers', async (gateway, originalRequest) => {
    const as = await TestAuthorizationServer.start();
    servers.push(as);
    const { app, decision } = await startDecisionApp(adapter, { ...introspectionAt(as), resilience: RESILIENCE }, { originalRequest });
    apps.push(app);
    const token = await as.issueToken({ scope: 'read' });
    await as.stop();
    const res = await gateways[gateway](decision, { uri: '/orders', headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('11');
    expect(res.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
    expect(identityOf(res)).toEqual({});
  });

  it('the AS answering 500: 503 with Retry-After', async () => {
    const faulty = await FaultyServer.start(behave.status(500));
    servers.push(faulty);
    const { app, decision } = await startDecisionApp(
      adapter,
      { introspectionEndpoint: faulty.url, allowInsecureRequests: true, clientId: 'api', clientSecret: 'secret', resilience: RESILIENCE },
      {},
    );
    apps.push(app);
    const res = await gateways.nginx(decision, { uri: '/orders', headers: { authorization: 'Bearer some-token' } });
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('11');
    expect(faulty.requests).toBeGreaterThan(0);
  });

  it("the module's outage policy 'fail-open' never lets a gateway's request through: 503, not 200", async () => {
    const faulty = await FaultyServer.start(behave.status(502));
    servers.push(faulty);
    const { app, decision } = await startDecisionApp(
      adapter,
      {
        introspectionEndpoint: faulty.url,
        allowInsecureRequests: true,
        clientId: 'api',
        clientSecret: 'secret',
        resilience: RESILIENCE,
        outagePolicy: 'fail-open',
      },
      {},
    );
    apps.push(app);
    const res = await gateways.traefik(decision, { uri: '/orders', headers: { authorization: 'Bearer some-token' } });
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('11');
    expect(identityOf(res)).toEqual({});
  });
});
