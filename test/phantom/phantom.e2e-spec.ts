import { afterEach, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { Controller, Get } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { IntrospectionModule, IntrospectionService, InvalidTokenError, PhantomToken, PhantomTokenService, Scopes } from '../../lib/index.js';
import { ADAPTERS, OrdersController, startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { sleep } from '../support/engine.js';

/**
 * Three parties: a real oidc-provider (AS), an edge API that introspects the client's opaque token
 * and forwards a phantom token, and an internal service that validates phantom tokens locally with
 * this same module (`jwt: { mode: 'local' }`) against the edge's JWKS — no call to the AS.
 */
const EDGE_ISSUER = 'https://edge.example';
const ORDERS = 'https://orders.internal';
const BILLING = 'https://billing.internal';
let internalUrl = '';

@Controller('edge')
class EdgeController {
  @Get('orders')
  @Scopes('read')
  async orders(@PhantomToken() phantom: string) {
    const res = await fetch(`${internalUrl}/orders`, { headers: { authorization: `Bearer ${phantom}` } });
    return { status: res.status, body: await res.json(), phantom };
  }

  @Get('billing')
  @Scopes('read')
  async billing(@PhantomToken(BILLING) phantom: string) {
    const res = await fetch(`${internalUrl}/orders`, { headers: { authorization: `Bearer ${phantom}` } });
    return { status: res.status };
  }
}

describe.each(ADAPTERS)('phantom tokens: AS → edge → internal service over %s (real oidc-provider)', (adapter) => {
  let as: TestAuthorizationServer | undefined;
  const apps: INestApplication[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await as?.stop();
  });

  async function setup(phantom: Record<string, unknown> = {}) {
    as = await TestAuthorizationServer.start();
    const edge = await startApp(
      adapter,
      IntrospectionModule.forRoot({
        ...introspectionAt(as),
        phantom: { issuer: EDGE_ISSUER, audiences: [ORDERS, BILLING], ...phantom },
        phantomJwksPath: '.well-known/phantom-jwks.json',
      }),
      [EdgeController],
    );
    apps.push(edge.app);
    const internal = await startApp(
      adapter,
      {
        // Opaque tokens would still be introspected; phantom tokens are JWTs validated locally.
        ...introspectionAt(as),
        audience: ORDERS,
        clockSkewSeconds: 0,
        jwt: {
          mode: 'local',
          jwksUri: `${edge.url}/.well-known/phantom-jwks.json`,
          issuer: EDGE_ISSUER,
          algorithms: ['ES256'],
          verificationCacheSeconds: 0,
          keysCacheSeconds: 1,
          keysRefreshIntervalSeconds: 0,
        },
      },
      [OrdersController],
    );
    apps.push(internal.app);
    internalUrl = internal.url;
    return {
      as,
      edgeUrl: edge.url,
      phantom: edge.app.get(PhantomTokenService),
      introspection: edge.app.get(IntrospectionService),
    };
  }
  const viaEdge = async (edgeUrl: string, token: string, path = 'orders') => {
    const res = await fetch(`${edgeUrl}/edge/${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, headers: res.headers, body: (await res.json()) as { status: number; body: any; phantom: string } };
  };
  const atInternal = async (phantom: string) => (await fetch(`${internalUrl}/orders`, { headers: { authorization: `Bearer ${phantom}` } })).status;

  it('the internal service accepts the phantom token locally; RFC 9068 shape; minted once per source token and audience', async () => {
    const { as, edgeUrl } = await setup();
    const token = await as.issueToken({ scope: 'read' });
    as.resetCounters();
    const first = await viaEdge(edgeUrl, token);
    expect(first.status).toBe(200);
    expect(first.body.status).toBe(200);
    expect(first.body.body).toMatchObject({ clientId: CLIENTS.app.clientId, scopes: ['read'] });
    expect(as.introspectionRequests).toBe(1); // the edge only: the internal service never asks the AS

    const header = decodeProtectedHeader(first.body.phantom);
    expect(header).toMatchObject({ typ: 'at+jwt', alg: 'ES256', kid: expect.any(String) });
    const claims = decodeJwt(first.body.phantom);
    expect(claims).toMatchObject({ iss: EDGE_ISSUER, aud: ORDERS, sub: CLIENTS.app.clientId, client_id: CLIENTS.app.clientId, scope: 'read' });
    expect(typeof claims.jti).toBe('string');
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(60);

    const second = await viaEdge(edgeUrl, token);
    expect(second.body.phantom).toBe(first.body.phantom); // cached per (source token, audience)
    // Another audience, another token; the orders service refuses it (wrong aud).
    expect((await viaEdge(edgeUrl, token, 'billing')).body.status).toBe(401);
  });

  it('forged and tampered phantom tokens are refused by the internal service', async () => {
    const { as, edgeUrl } = await setup();
    const token = await as.issueToken({ scope: 'read' });
    const { phantom } = (await viaEdge(edgeUrl, token)).body;
    const { kid } = decodeProtectedHeader(phantom);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forged = await new SignJWT({ ...decodeJwt(phantom), scope: 'read write' }).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' }).sign(privateKey);
    expect(await atInternal(forged)).toBe(401);
    const [h, , s] = phantom.split('.');
    const body = Buffer.from(JSON.stringify({ ...decodeJwt(phantom), scope: 'read write' })).toString('base64url');
    expect(await atInternal(`${h}.${body}.${s}`)).toBe(401);
    expect(await atInternal(phantom)).toBe(200);
  });

  it('revocation at the edge: after an eviction the edge refuses the token and mints no more phantom tokens', async () => {
    const { as, edgeUrl, phantom, introspection } = await setup();
    const token = await as.issueToken({ scope: 'read' });
    expect((await viaEdge(edgeUrl, token)).body.status).toBe(200);
    await expect(phantom.mint(token)).resolves.toEqual(expect.any(String)); // cached one

    await as.revoke(token);
    await introspection.evict(token);
    await expect(phantom.mint(token)).rejects.toBeInstanceOf(InvalidTokenError); // at once, no cached phantom handed out
    const res = await viaEdge(edgeUrl, token);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
  });

  it('key rotation: old and new keys both verify during the overlap; after it, the old key is gone', async () => {
    const { as, edgeUrl, phantom } = await setup({ rotationOverlapSeconds: 1 });
    const token = await as.issueToken({ scope: 'read' });
    const before = (await viaEdge(edgeUrl, token)).body.phantom;
    const oldKid = decodeProtectedHeader(before).kid;
    const newKid = await phantom.rotateKey();
    expect(newKid).not.toBe(oldKid);

    const after = await viaEdge(edgeUrl, token);
    expect(decodeProtectedHeader(after.body.phantom).kid).toBe(newKid); // minted anew with the new key
    expect(after.body.status).toBe(200); // unknown kid: the internal service fetched the new key set
    const jwks = (await (await fetch(`${edgeUrl}/.well-known/phantom-jwks.json`)).json()) as { keys: Array<{ kid: string; d?: string }> };
    expect(jwks.keys.map((k) => k.kid)).toEqual([newKid, oldKid]);
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true); // public keys only
    expect(await atInternal(before)).toBe(200); // overlap: the old key still verifies

    await sleep(2100); // overlap over, and the internal service's key cache (1 s) aged out
    const later = (await (await fetch(`${edgeUrl}/.well-known/phantom-jwks.json`)).json()) as { keys: Array<{ kid: string }> };
    expect(later.keys.map((k) => k.kid)).toEqual([newKid]);
    await atInternal(after.body.phantom); // lets the internal service refresh its keys
    await sleep(100);
    expect(await atInternal(before)).toBe(401);
    expect(await atInternal(after.body.phantom)).toBe(200);
  });

  it('an expired phantom token is refused; its exp never passes the source token exp', async () => {
    const { as, edgeUrl } = await setup();
    const token = await as.issueToken({ scope: 'read', ttlSeconds: 2 });
    const res = await viaEdge(edgeUrl, token);
    expect(res.body.status).toBe(200);
    const claims = decodeJwt(res.body.phantom);
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(2); // bounded by the source, not the 60 s default
    await sleep((claims.exp! + 1) * 1000 - Date.now());
    expect(await atInternal(res.body.phantom)).toBe(401);
  });
});
