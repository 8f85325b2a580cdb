import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { exportJWK, generateKeyPair, SignJWT, calculateJwkThumbprint } from 'jose';
import { randomUUID } from 'node:crypto';
import { AnyClaim, AnyRole, Public, RequireAuthentication, RequireClaims, RequireDpop, RoleMappers, Roles, Scopes } from '../../lib/index.js';
import { ADAPTERS, call, startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../support/authorization-server.js';
import { FaultyServer } from '../support/faulty-server.js';

const RESOURCE = 'https://api.example.com';
const METADATA_URL = 'https://api.example.com/.well-known/oauth-protected-resource';

@Controller('step-up')
class StepUpController {
  @Get('gold')
  @RequireAuthentication({ acrValues: ['gold', 'platinum'] })
  gold() {
    return { ok: true };
  }

  @Get('recent')
  @RequireAuthentication({ maxAge: 300 })
  recent() {
    return { ok: true };
  }

  @Get('both')
  @RequireAuthentication({ acrValues: ['gold'], maxAge: 60 })
  both() {
    return { ok: true };
  }

  @Get('scoped-gold')
  @Scopes('write')
  @Roles('admin')
  @RequireAuthentication({ acrValues: ['gold'] })
  scopedGold() {
    return { ok: true };
  }

  @Get('dpop-only')
  @RequireDpop()
  dpopOnly() {
    return { ok: true };
  }
}

@Controller('admin')
@Roles('admin')
class AdminController {
  @Get()
  all() {
    return { ok: true };
  }

  @Get('audit')
  @Roles('auditor')
  audit() {
    return { ok: true };
  }

  @Get('any')
  @AnyRole('reports', 'billing')
  any() {
    return { ok: true };
  }
}

@Controller('claims')
class ClaimsController {
  @Get('tenant')
  @RequireClaims({ tenant: 'acme', email_verified: true })
  tenant() {
    return { ok: true };
  }

  @Get('any')
  @AnyClaim({ department: ['sales', 'support'], level: (v) => typeof v === 'number' && v >= 3 })
  any() {
    return { ok: true };
  }

  @Get('constructor')
  @RequireClaims({ constructor: 'x' })
  ctor() {
    return { ok: true };
  }

  @Get('throws')
  @RequireClaims({
    tenant: () => {
      throw new Error('boom');
    },
  })
  throws() {
    return { ok: true };
  }
}

@Controller('open')
@Public()
class OpenController {
  @Get()
  open() {
    return { ok: true };
  }

  // A handler's own requirement wins over the controller's @Public().
  @Get('roles')
  @Roles('admin')
  roles() {
    return { ok: true };
  }
}

@Controller('scoped')
class ScopedController {
  @Get()
  @Scopes('read')
  read() {
    return { ok: true };
  }
}

const controllers = [StepUpController, AdminController, ClaimsController, OpenController, ScopedController];

describe.each(ADAPTERS)('Roles, claims, step-up and RFC 9728 metadata over %s (real oidc-provider)', (adapter) => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let url: string;
  const now = () => Math.floor(Date.now() / 1000);
  const token = (claims: Record<string, unknown>, scope = 'read') => as.issueToken({ scope, resource: RESOURCE, claims });
  const get = (path: string, t?: string) => call(`${url}${path}`, t === undefined ? {} : { authorization: `Bearer ${t}` });

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    ({ app, url } = await startApp(
      adapter,
      {
        issuer: as.issuer,
        allowInsecureRequests: true,
        ...CLIENTS.basic,
        realm: 'api',
        clockSkewSeconds: 5,
        cache: { ttlSeconds: 60 },
        roles: { mapper: [RoleMappers.roles(), RoleMappers.keycloakRealm(), RoleMappers.keycloakClient('orders-api')] },
        resourceMetadata: {
          resource: RESOURCE,
          scopesSupported: ['read', 'write'],
          resourceName: 'Orders API',
          resourceDocumentation: 'https://docs.example.com/orders',
          additionalMetadata: { x_custom: 1 },
        },
      },
      controllers,
    ));
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
  });

  describe('RFC 9728 protected-resource metadata', () => {
    it('is served as JSON with Cache-Control, from configuration and the DPoP options, without a token', async () => {
      const res = await get('/.well-known/oauth-protected-resource');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('cache-control')).toBe('public, max-age=3600');
      expect(res.body).toEqual({
        resource: RESOURCE,
        authorization_servers: [as.issuer],
        scopes_supported: ['read', 'write'],
        bearer_methods_supported: ['header'],
        resource_name: 'Orders API',
        resource_documentation: 'https://docs.example.com/orders',
        dpop_signing_alg_values_supported: expect.arrayContaining(['ES256']),
        dpop_bound_access_tokens_required: false,
        x_custom: 1,
      });
    });

    it('an unknown path-suffixed variant is 404', async () => {
      expect((await get('/.well-known/oauth-protected-resource/other')).status).toBe(404);
    });

    it('every challenge carries resource_metadata: 401 without a token, 401 invalid_token, 403 insufficient_scope', async () => {
      const missing = await get('/scoped');
      expect(missing.status).toBe(401);
      expect(missing.headers.get('www-authenticate')).toBe(`Bearer realm="api", resource_metadata="${METADATA_URL}"`);
      const invalid = await get('/scoped', 'not-a-real-token-123');
      expect(invalid.status).toBe(401);
      expect(invalid.headers.get('www-authenticate')).toMatch(new RegExp(`^Bearer realm="api", error="invalid_token", .*resource_metadata="${METADATA_URL}"$`));
      const noScope = await get('/scoped', await token({}, 'write'));
      expect(noScope.status).toBe(403);
      expect(noScope.headers.get('www-authenticate')).toContain(`error="insufficient_scope"`);
      expect(noScope.headers.get('www-authenticate')).toContain(`resource_metadata="${METADATA_URL}"`);
    });

    it('the resource is the default audience: a token for another resource is 401, one for this resource passes', async () => {
      const other = await as.issueToken({ scope: 'read', resource: 'https://other.example.com' });
      const res = await get('/scoped', other);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect((await get('/scoped', await token({}))).status).toBe(200);
    });
  });

  describe('RFC 9470 step-up', () => {
    it('acr in the list passes; another acr, an array acr or no acr is 401 insufficient_user_authentication with acr_values', async () => {
      expect((await get('/step-up/gold', await token({ acr: 'platinum' }))).status).toBe(200);
      for (const claims of [{ acr: 'silver' }, { acr: ['gold'] }, {}, { acr: 1 }, { acr: { gold: true } }]) {
        const res = await get('/step-up/gold', await token(claims));
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe(
          'Bearer realm="api", error="insufficient_user_authentication", error_description="A different authentication level is required.", ' +
            `acr_values="gold platinum", resource_metadata="${METADATA_URL}"`,
        );
      }
    });

    it('auth_time older than max_age (+ leeway), missing, a string or in the future is 401 with max_age', async () => {
      expect((await get('/step-up/recent', await token({ auth_time: now() - 100 }))).status).toBe(200);
      expect((await get('/step-up/recent', await token({ auth_time: now() - 303 }))).status).toBe(200); // within the 5 s leeway
      for (const claims of [{ auth_time: now() - 400 }, {}, { auth_time: String(now()) }, { auth_time: now() + 3600 }, { auth_time: null }]) {
        const res = await get('/step-up/recent', await token(claims));
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/error="insufficient_user_authentication", .*max_age="300"/);
        expect(res.headers.get('www-authenticate')).not.toContain('acr_values');
      }
    });

    it('both requirements: the challenge names both', async () => {
      expect((await get('/step-up/both', await token({ acr: 'gold', auth_time: now() }))).status).toBe(200);
      const res = await get('/step-up/both', await token({ acr: 'gold', auth_time: now() - 120 }));
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('acr_values="gold", max_age="60"');
    });

    it('order: step-up (401) is checked before scopes and roles (403); with the right acr, the scope is next, then the role', async () => {
      const weak = await get('/step-up/scoped-gold', await token({ acr: 'silver' }, 'read'));
      expect(weak.status).toBe(401);
      expect(weak.headers.get('www-authenticate')).toContain('error="insufficient_user_authentication"');
      expect(weak.headers.get('www-authenticate')).toContain('acr_values="gold"');
      const noScope = await get('/step-up/scoped-gold', await token({ acr: 'gold' }, 'read'));
      expect(noScope.status).toBe(403);
      expect(noScope.headers.get('www-authenticate')).toContain('error="insufficient_scope", error_description="Scopes required: write", scope="write"');
      const noRole = await get('/step-up/scoped-gold', await token({ acr: 'gold' }, 'read write'));
      expect(noRole.status).toBe(403);
      expect(noRole.body.message).toBe('The access token lacks a required role. Required: admin.');
      expect((await get('/step-up/scoped-gold', await token({ acr: 'gold', roles: ['admin'] }, 'read write'))).status).toBe(200);
    });

    it('DPoP challenges carry resource_metadata too: no token, and a bearer token on a DPoP-only route', async () => {
      const missing = await get('/step-up/dpop-only');
      expect(missing.status).toBe(401);
      expect(missing.headers.get('www-authenticate')).toMatch(new RegExp(`^DPoP algs="[^"]+", realm="api", resource_metadata="${METADATA_URL}"$`));
      const bearer = await get('/step-up/dpop-only', await token({}));
      expect(bearer.status).toBe(401);
      expect(bearer.headers.get('www-authenticate')).toMatch(/^DPoP algs=.*error="invalid_token".*resource_metadata=/);
    });

    it('a DPoP-bound token gets the DPoP scheme challenge', async () => {
      const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
      const publicJwk = await exportJWK(publicKey);
      const t = await as.issueToken({ scope: 'read', resource: RESOURCE, claims: { acr: 'bronze' }, dpop: { privateKey, publicJwk } });
      const proof = await new SignJWT({ htm: 'GET', htu: `${url}/step-up/gold`, jti: randomUUID(), ath: await ath(t) })
        .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: publicJwk })
        .setIssuedAt()
        .sign(privateKey);
      const res = await fetch(`${url}/step-up/gold`, { headers: { authorization: `DPoP ${t}`, dpop: proof } });
      expect(res.status).toBe(401);
      const challenge = res.headers.get('www-authenticate')!;
      expect(challenge).toMatch(/^DPoP algs="[^"]+", realm="api", error="insufficient_user_authentication", /);
      expect(challenge).toContain('acr_values="gold platinum"');
      expect(challenge).toContain(`resource_metadata="${METADATA_URL}"`);
      void calculateJwkThumbprint;
    });
  });

  describe('roles', () => {
    it('flat roles, Keycloak realm roles and client roles all count (union of the mappers)', async () => {
      expect((await get('/admin', await token({ roles: ['admin'] }))).status).toBe(200);
      expect((await get('/admin', await token({ realm_access: { roles: ['admin'] } }))).status).toBe(200);
      expect((await get('/admin', await token({ resource_access: { 'orders-api': { roles: ['admin'] } } }))).status).toBe(200);
      // Another client's roles do not count.
      expect((await get('/admin', await token({ resource_access: { other: { roles: ['admin'] } } }))).status).toBe(403);
    });

    it('class and handler @Roles both apply; @AnyRole needs one of its list; 403 insufficient_scope without a scope parameter', async () => {
      expect((await get('/admin/audit', await token({ roles: ['admin', 'auditor'] }))).status).toBe(200);
      const res = await get('/admin/audit', await token({ roles: ['auditor'] }));
      expect(res.status).toBe(403);
      expect(res.headers.get('www-authenticate')).toBe(
        `Bearer realm="api", error="insufficient_scope", error_description="The access token lacks a required role. Required: admin, auditor.", resource_metadata="${METADATA_URL}"`,
      );
      expect(res.body.message).toBe('The access token lacks a required role. Required: admin, auditor.');
      expect((await get('/admin/any', await token({ roles: ['admin', 'billing'] }))).status).toBe(200);
      const any = await get('/admin/any', await token({ roles: ['admin'] }));
      expect(any.status).toBe(403);
      expect(any.body.message).toBe('The access token needs one of these roles: reports, billing.');
    });

    it('claims of the wrong shape never grant a role and never answer 500', async () => {
      const shapes: Record<string, unknown>[] = [
        { roles: 'admin' },
        { roles: { admin: true } },
        { roles: [['admin']] },
        { roles: [{ name: 'admin' }] },
        { roles: null },
        { realm_access: ['admin'] },
        { realm_access: { roles: 'admin' } },
        { resource_access: { 'orders-api': 'admin' } },
        JSON.parse('{"__proto__": {"roles": ["admin"]}}'),
        JSON.parse('{"realm_access": {"__proto__": {"roles": ["admin"]}}}'),
        JSON.parse('{"resource_access": {"__proto__": {"roles": ["admin"]}, "orders-api": {"__proto__": {"roles": ["admin"]}}}}'),
      ];
      for (const claims of shapes) {
        const res = await get('/admin', await token(claims));
        expect({ claims, status: res.status }).toEqual({ claims, status: 403 });
      }
    });

    it('a huge role array is handled (and the right role is found at its end)', async () => {
      const roles = Array.from({ length: 3000 }, (_, i) => `r${i}`);
      expect((await get('/admin', await token({ roles }))).status).toBe(403);
      expect((await get('/admin', await token({ roles: [...roles, 'admin'] }))).status).toBe(200);
    });

    it('checks apply to cached results exactly as to fresh ones: a cache hit is still refused', async () => {
      const t = await token({ roles: ['reader'] });
      expect((await get('/scoped', t)).status).toBe(200); // cached now
      as.resetCounters();
      expect((await get('/admin', t)).status).toBe(403);
      expect((await get('/admin', t)).status).toBe(403);
      expect((await get('/step-up/gold', t)).status).toBe(401);
      expect((await get('/claims/tenant', t)).status).toBe(403);
      expect(as.introspectionRequests).toBe(0); // every refusal came from the cached result
    });

    it('@Roles on a handler of a @Public() controller needs a token', async () => {
      expect((await get('/open')).status).toBe(200);
      expect((await get('/open/roles')).status).toBe(401);
      expect((await get('/open/roles', await token({ roles: ['admin'] }))).status).toBe(200);
    });
  });

  describe('claims', () => {
    it('@RequireClaims: every claim must match (arrays containing the value count)', async () => {
      expect((await get('/claims/tenant', await token({ tenant: 'acme', email_verified: true }))).status).toBe(200);
      expect((await get('/claims/tenant', await token({ tenant: ['other', 'acme'], email_verified: true }))).status).toBe(200);
      for (const claims of [
        { tenant: 'acme' },
        { tenant: 'acme', email_verified: 'true' },
        { tenant: 'ACME', email_verified: true },
        { tenant: { acme: 1 }, email_verified: true },
      ]) {
        const res = await get('/claims/tenant', await token(claims));
        expect(res.status).toBe(403);
        expect(res.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
        expect(res.body.message).not.toContain('acme'); // names the claim, never the expected value
      }
    });

    it('@AnyClaim: one matching claim (value list or predicate) is enough', async () => {
      expect((await get('/claims/any', await token({ department: 'support' }))).status).toBe(200);
      expect((await get('/claims/any', await token({ level: 4 }))).status).toBe(200);
      expect((await get('/claims/any', await token({ department: 'hr', level: '4' }))).status).toBe(403);
    });

    it('inherited names are never claims; a throwing predicate is a 403, not a 500', async () => {
      expect((await get('/claims/constructor', await token({}))).status).toBe(403);
      expect((await get('/claims/throws', await token({ tenant: 'acme' }))).status).toBe(403);
    });
  });
});

// oidc-provider refuses to store a `constructor` claim: a real server answering hand-written introspection JSON.
describe.each(ADAPTERS)('Hostile claim shapes from the introspection endpoint over %s', (adapter) => {
  let server: FaultyServer;
  let app: INestApplication;
  let url: string;
  let answer = '';
  beforeAll(async () => {
    server = await FaultyServer.start((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(answer);
    });
    ({ app, url } = await startApp(
      adapter,
      {
        introspectionEndpoint: server.url,
        allowInsecureRequests: true,
        ...CLIENTS.basic,
        audience: 'api',
        cache: false,
        roles: { mapper: [RoleMappers.roles(), RoleMappers.keycloakRealm(), RoleMappers.keycloakClient('constructor'), (r) => (r as any).custom.deep] },
      },
      controllers,
    ));
  });
  afterAll(async () => {
    await app?.close();
    await server?.stop();
  });
  const get = (path: string) => call(`${url}${path}`, { authorization: 'Bearer opaque-token-abcdef' });
  const base = '"active":true,"aud":"api","scope":"read","exp":' + (Math.floor(Date.now() / 1000) + 600);

  it('prototype keys (__proto__, constructor) never grant roles or claims', async () => {
    for (const extra of [
      '"__proto__":{"roles":["admin"],"tenant":"acme","email_verified":true}',
      '"constructor":{"roles":["admin"]},"resource_access":{"constructor":{"roles":"admin"}}',
      '"realm_access":{"__proto__":{"roles":["admin"]}}',
      '"roles":{"0":"admin","length":1}',
    ]) {
      answer = `{${base},${extra}}`;
      expect({ extra, status: (await get('/admin')).status }).toEqual({ extra, status: 403 });
      expect({ extra, status: (await get('/claims/tenant')).status }).toEqual({ extra, status: 403 });
    }
  });

  it('an own `constructor` claim is a claim like any other; a Keycloak client named "constructor" works', async () => {
    answer = `{${base},"constructor":"x"}`;
    expect((await get('/claims/constructor')).status).toBe(200);
    answer = `{${base},"resource_access":{"constructor":{"roles":["admin"]}}}`;
    expect((await get('/admin')).status).toBe(200);
  });

  it('a role mapper that throws (custom.deep of a missing claim) yields no roles: 403, never 500', async () => {
    answer = `{${base}}`;
    expect((await get('/admin')).status).toBe(403);
  });
});

async function ath(token: string): Promise<string> {
  const { createHash } = await import('node:crypto');
  return createHash('sha256').update(token).digest('base64url');
}
