import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { exportJWK, generateKeyPair } from 'jose';
import { ADAPTERS, call, startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../support/authorization-server.js';

/**
 * Issue 10, defect 3, over HTTP: tokens that are active at a real oidc-provider but are not bearer
 * access tokens for this API get 401 invalid_token, on Express and Fastify.
 */
describe.each(ADAPTERS)('token kinds over %s (real oidc-provider)', (adapter) => {
  let as: TestAuthorizationServer;
  let app: { app: INestApplication; url: string };

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    app = await startApp(adapter, { introspectionEndpoint: as.introspectionEndpoint, allowInsecureRequests: true, ...CLIENTS.basic, requireTokenType: true });
  });
  afterAll(async () => {
    await app?.app.close();
    await as?.stop();
  });

  const expectInvalidToken = async (token: string, description: RegExp) => {
    const res = await call(`${app.url}/orders`, { authorization: `Bearer ${token}` });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token", error_description=".+"$/);
    expect(res.headers.get('www-authenticate')).toMatch(description);
  };

  it('an access token passes', async () => {
    expect((await call(`${app.url}/orders`, { authorization: `Bearer ${await as.issueToken({ scope: 'read' })}` })).status).toBe(200);
  });
  it('a refresh token presented as a bearer token: 401 invalid_token', async () => {
    await expectInvalidToken(await as.issueRefreshToken('alice'), /not an access token/);
  });
  it('a DPoP-bound token presented as a bearer token (no proof): 401 invalid_token', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    await expectInvalidToken(await as.issueToken({ scope: 'read', dpop: { privateKey, publicJwk: await exportJWK(publicKey) } }), /bound to a key/);
  });
  it('a certificate-bound token presented as a bearer token (no client certificate): 401 invalid_token', async () => {
    await expectInvalidToken(await as.issueCertificateBoundToken('A4DtL2JmUMhAsvJj5tKyn64SqzmuXbMrJa0n761y5v0'), /bound to a client certificate/);
  });
});
