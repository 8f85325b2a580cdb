import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { tokenFingerprint } from '../../lib/utils/fingerprint.js';
import { ADAPTERS, call, OrdersController, PaymentsController, startApp } from '../support/app.js';
import { CLIENTS, JWT_RESOURCE_PREFIX, TestAuthorizationServer } from '../support/authorization-server.js';
import { capturedLogs } from '../support/engine.js';
import { CollectingReader, sum } from '../support/metrics.js';
import { ReshapingProxy, without } from '../support/reshaping-proxy.js';

/**
 * Truth across authorization servers whose introspection answers are shaped differently from oidc-provider's:
 * a real oidc-provider behind a loopback proxy that drops members from its answers (`aud`, `iss`, `token_type`),
 * as Glewlwyd and Keycloak-like servers answer. RFC 7662 §2.2 makes every member but `active` optional.
 */
const AUDIENCE = `${JWT_RESOURCE_PREFIX}orders`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe.each(ADAPTERS)('answers without aud, iss or token_type, over %s', (adapter) => {
  let as: TestAuthorizationServer;
  const stops: Array<() => Promise<unknown>> = [];
  const start = async (reshape: Parameters<typeof ReshapingProxy.start>[1], options: Record<string, unknown>, introspectJwts = false) => {
    const proxy = await ReshapingProxy.start(as.introspectionEndpoint, reshape, { introspectJwts });
    stops.push(() => proxy.stop());
    const app = await startApp(adapter, { introspectionEndpoint: proxy.url, allowInsecureRequests: true, ...CLIENTS.basic, ...options }, [
      OrdersController,
      PaymentsController,
    ]);
    stops.push(() => app.app.close());
    return { proxy, url: app.url };
  };

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await as?.stop();
  });
  beforeEach(() => {
    capturedLogs.length = 0;
  });

  it('a locally valid JWT on an @RequireIntrospection route is accepted when the AS answers without aud, and the answer poisons no other route', async () => {
    const { proxy, url } = await start(
      without(),
      {
        audience: AUDIENCE,
        expectedIssuer: as.issuer,
        jwt: { mode: 'local', jwksUri: as.jwksUri },
      },
      true,
    );
    const jwt = await as.issueToken({ scope: 'read', resource: AUDIENCE });
    const paid = await call(`${url}/payments`, bearer(jwt));
    expect(paid.status).toBe(200);
    expect(proxy.introspections).toBe(1);
    // The same token on an ordinary route (local validation, in-process memory): still accepted.
    expect((await call(`${url}/orders`, bearer(jwt))).status).toBe(200);
    // The AS's own `active: false` is what refuses it, on the route that asks and then on every route.
    proxy.revoked.add(jwt);
    expect((await call(`${url}/payments`, bearer(jwt))).status).toBe(401);
    expect((await call(`${url}/orders`, bearer(jwt))).status).toBe(401);
  });

  it("'local-then-introspect': claims the answer omits (aud, iss) come from the signed token; a refusal of the answer is never cached for other routes", async () => {
    const { url } = await start(
      without(),
      {
        audience: AUDIENCE,
        expectedIssuer: as.issuer,
        requireTokenType: true, // the answer has no token_type: the signed token's typ at+jwt says it is an access token
        cache: { ttlSeconds: 60 },
        jwt: { mode: 'local-then-introspect', jwksUri: as.jwksUri },
      },
      true,
    );
    const jwt = await as.issueToken({ scope: 'read', resource: AUDIENCE });
    for (let i = 0; i < 3; i++) expect((await call(`${url}/orders`, bearer(jwt))).status).toBe(200);
    expect((await call(`${url}/payments`, bearer(jwt))).status).toBe(200);
  });

  it("expectedIssuer with only introspectionEndpoint: an answer without iss is the configured endpoint's issuer; a foreign iss is still refused", async () => {
    const noIss = await start(without('iss'), { expectedIssuer: as.issuer });
    const token = await as.issueToken({ scope: 'read' });
    expect((await call(`${noIss.url}/orders`, bearer(token))).status).toBe(200);

    const foreign = await start((answer) => ({ ...answer, iss: 'https://evil.example' }), { expectedIssuer: as.issuer });
    const refused = await call(`${foreign.url}/orders`, bearer(await as.issueToken({ scope: 'read' })));
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
  });

  it('an audience mismatch leaves a trace: a log line with the fingerprint, expected and received aud and the option to change; the reason in the decision metric', async () => {
    const reader = new CollectingReader();
    const { url } = await start((answer) => ({ ...answer, aud: 'https://other-api.example' }), {
      audience: 'https://orders.example.com',
      metrics: { meterProvider: new MeterProvider({ readers: [reader] }) },
    });
    const token = await as.issueToken({ scope: 'read' });
    const res = await call(`${url}/orders`, bearer(token));
    expect(res.status).toBe(401);
    const line = capturedLogs.find((l) => l.includes('audience_mismatch'));
    expect(line).toBeDefined();
    expect(line).toContain(tokenFingerprint(token));
    expect(line).toContain('["https://orders.example.com"]');
    expect(line).toContain('["https://other-api.example"]');
    expect(line).toContain('`audience`');
    expect(capturedLogs.join('\n')).not.toContain(token);
    expect(await sum(reader, 'token_introspection.guard.decisions', { decision: 'invalid', reason: 'audience_mismatch' })).toBe(1);
  });

  it('a locally validated JWT for another audience leaves the same trace (the signed aud, the configured audience)', async () => {
    const { url } = await start(without(), { audience: AUDIENCE, expectedIssuer: as.issuer, jwt: { mode: 'local', jwksUri: as.jwksUri } }, true);
    const other = await as.issueToken({ scope: 'read', resource: `${JWT_RESOURCE_PREFIX}billing` });
    expect((await call(`${url}/orders`, bearer(other))).status).toBe(401);
    const line = capturedLogs.find((l) => l.includes('audience_mismatch'));
    expect(line).toContain(tokenFingerprint(other));
    expect(line).toContain(`["${JWT_RESOURCE_PREFIX}billing"]`);
    expect(line).toContain(`["${AUDIENCE}"]`);
    expect(capturedLogs.join('\n')).not.toContain(other);
  });

  it('an issuer mismatch is logged with the expected and received iss', async () => {
    const { url } = await start((answer) => ({ ...answer, iss: `${as.issuer}/` }), { expectedIssuer: as.issuer });
    const token = await as.issueToken({ scope: 'read' });
    expect((await call(`${url}/orders`, bearer(token))).status).toBe(401);
    const line = capturedLogs.find((l) => l.includes('issuer_mismatch'));
    expect(line).toContain(`'${as.issuer}'`);
    expect(line).toContain(`'${as.issuer}/'`);
    expect(line).toContain(tokenFingerprint(token));
  });

  it('a requirement the AS may never meet (audience, and no aud in any answer) is reported once, naming the fix to check', async () => {
    const { url } = await start(without('aud'), { audience: 'https://orders.example.com' });
    for (let i = 0; i < 7; i++) expect((await call(`${url}/orders`, bearer(await as.issueToken({ scope: 'read' })))).status).toBe(401);
    const verdicts = capturedLogs.filter((l) => l.includes('`audience` may never be met'));
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0]).toMatch(/check the answer for a token issued for this API.*remove `audience`/);
    // The per-token line says so too.
    expect(capturedLogs.find((l) => l.includes('audience_mismatch'))).toContain('no `aud` at all');
  });

  // Callers choose which tokens reach the AS: an attacker with any token of the same AS (for another API: no aud)
  // must not be able to make the server tell its operator to drop the audience check.
  it('five aud-less tokens of other APIs cannot make the server advise removing `audience` outright; once an answer carries aud, nothing is said', async () => {
    const { url } = await start(without(), { audience: 'https://orders.example.com' });
    for (let i = 0; i < 5; i++) {
      const foreign = await as.issueToken({ scope: 'read' }); // active at the AS, no aud: not for this API
      expect((await call(`${url}/orders`, bearer(foreign))).status).toBe(401);
    }
    // The AS does send aud for tokens meant for this API: the requirement is met.
    const mine = await as.issueToken({ scope: 'read', resource: 'https://orders.example.com' });
    expect((await call(`${url}/orders`, bearer(mine))).status).toBe(200);
    // At most a note that asks to check a token issued for this API first — never "can never be met, remove it".
    const advice = capturedLogs.filter((l) => l.includes('may never be met'));
    expect(advice.length).toBeLessThanOrEqual(1);
    for (const line of advice) expect(line).toMatch(/check the answer for a token issued for this API/);
    expect(capturedLogs.some((l) => l.includes('can never be met'))).toBe(false);
    // An answer with aud was seen: more aud-less tokens say nothing more.
    for (let i = 0; i < 6; i++) await call(`${url}/orders`, bearer(await as.issueToken({ scope: 'read' })));
    expect(capturedLogs.filter((l) => l.includes('may never be met')).length).toBe(advice.length);
  });

  it('requireTokenType on an AS that sends no token_type: the refusal says which option to remove', async () => {
    const { url } = await start(without('token_type'), { requireTokenType: true });
    for (let i = 0; i < 5; i++) expect((await call(`${url}/orders`, bearer(await as.issueToken({ scope: 'read' })))).status).toBe(401);
    expect(capturedLogs.find((l) => l.includes('not_access_token'))).toMatch(/remove `requireTokenType`/);
    expect(capturedLogs.filter((l) => l.includes('`requireTokenType` may never be met'))).toHaveLength(1);
  });
});
