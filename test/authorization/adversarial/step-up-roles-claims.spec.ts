// Adversarial review of step-up, roles, claims and resource identifiers (round 17a; was attack17a-authorization).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { IntrospectionConfigurationError, Public, RequireAuthentication, RequireClaims, RoleMappers, Roles } from '../../../lib/index.js';
import { resolveOptions } from '../../../lib/options/resolve-options.js';
import { ADAPTERS, startApp } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../../support/authorization-server.js';

const RESOURCE = 'https://api.example.com';

@Controller('fresh')
class FreshController {
  @Get()
  @RequireAuthentication({ maxAge: 1 })
  fresh() {
    return { ok: true };
  }

  @Get('zero')
  @RequireAuthentication({ maxAge: 0 })
  zero() {
    return { ok: true };
  }

  @Get('gold')
  @RequireAuthentication({ acrValues: ['gold'] })
  gold() {
    return { ok: true };
  }
}

@Controller('ops')
@Roles('ops')
@RequireAuthentication({ acrValues: ['gold', 'silver'] })
class OpsController {
  @Get()
  @RequireAuthentication({ acrValues: ['silver'], maxAge: 600 })
  @RequireClaims({ tenant: 'acme' })
  run() {
    return { ok: true };
  }

  // Documented: @Public() on a handler is an explicit exception to the controller's requirements.
  @Get('health')
  @Public()
  health() {
    return { ok: true };
  }

  // @Public() beside the handler's own requirement: still protected.
  @Get('both')
  @Public()
  @Roles('ops')
  both() {
    return { ok: true };
  }
}

describe.each(ADAPTERS)('step-up, roles and claims against crafted claims and routes over %s (real oidc-provider)', (adapter) => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let url: string;
  const now = () => Math.floor(Date.now() / 1000);
  const token = (claims: Record<string, unknown>, scope = 'read') => as.issueToken({ scope, resource: RESOURCE, claims });
  const get = (path: string, t?: string, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, { headers: { ...(t ? { authorization: `Bearer ${t}` } : {}), ...headers } });

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    ({ app, url } = await startApp(
      adapter,
      {
        issuer: as.issuer,
        allowInsecureRequests: true,
        ...CLIENTS.basic,
        clockSkewSeconds: 0,
        cache: { ttlSeconds: 60 },
        roles: { mapper: [RoleMappers.roles(), RoleMappers.keycloakRealm(), RoleMappers.keycloakClient('my.app')] },
        resourceMetadata: { resource: RESOURCE },
      },
      [FreshController, OpsController],
    ));
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
  });

  it('a cached result is re-judged against the clock: max_age passes, then fails as time passes, without an AS call', async () => {
    const t = await token({ auth_time: now() });
    expect((await get('/fresh', t)).status).toBe(200);
    as.resetCounters();
    await new Promise((r) => setTimeout(r, 2300));
    const res = await get('/fresh', t);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="insufficient_user_authentication"');
    expect(res.headers.get('www-authenticate')).toContain('max_age="1"');
    expect(as.introspectionRequests).toBe(0);
  });

  it('auth_time in milliseconds, far future, 0, negative, a numeric string: all 401', async () => {
    for (const authTime of [Date.now(), now() + 86_400, 0, -1, String(now())]) {
      expect({ authTime, status: (await get('/fresh/zero', await token({ auth_time: authTime }))).status }).toEqual({ authTime, status: 401 });
    }
    expect((await get('/fresh', await token({ auth_time: now() }))).status).toBe(200);
  });

  it('acr of another case, with whitespace, as an array holding the value, as an object: 401', async () => {
    for (const acr of ['GOLD', 'gold ', ' gold', ['gold', 'junk'], ['gold'], { gold: true }, 1]) {
      expect({ acr, status: (await get('/fresh/gold', await token({ acr }))).status }).toEqual({ acr, status: 401 });
    }
  });

  it('class + handler merging narrows (acr ∩, roles ∪, claims): nothing empty opens the route', async () => {
    const good = { roles: ['ops'], acr: 'silver', auth_time: now(), tenant: 'acme' };
    expect((await get('/ops', await token(good))).status).toBe(200);
    expect((await get('/ops', await token({ ...good, acr: 'gold' }))).status).toBe(401); // class allows gold, handler does not
    expect((await get('/ops', await token({ ...good, roles: [] }))).status).toBe(403);
    expect((await get('/ops', await token({ ...good, tenant: ['acme'] }))).status).toBe(200); // documented: an array holding the value
    expect((await get('/ops', await token({ ...good, tenant: 'ACME' }))).status).toBe(403);
    expect((await get('/ops', await token({ ...good, auth_time: now() - 700 }))).status).toBe(401);
  });

  it('a Keycloak client id with dots is a literal key, not a path', async () => {
    const base = { acr: 'silver', auth_time: now(), tenant: 'acme' };
    expect((await get('/ops', await token({ ...base, resource_access: { 'my.app': { roles: ['ops'] } } }))).status).toBe(200);
    expect((await get('/ops', await token({ ...base, resource_access: { my: { app: { roles: ['ops'] } } } }))).status).toBe(403);
  });

  it("@Public() beside the handler's own @Roles stays protected; a handler’s @Public() opens it despite class @Roles (documented)", async () => {
    expect((await get('/ops/both')).status).toBe(401);
    expect((await get('/ops/health')).status).toBe(200);
  });

  it("the challenge's resource_metadata comes from configuration, never from Host / X-Forwarded-Host", async () => {
    const res = await get('/fresh/gold', undefined, { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' });
    expect(res.headers.get('www-authenticate')).toContain('resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"');
    expect(res.headers.get('www-authenticate')).not.toContain('evil');
  });
});

describe('careless resource identifiers', () => {
  const base = { issuer: 'https://as.example.com', clientId: 'api', clientSecret: 's3cret' };
  // ATTACK: `new URL()` strips tabs, newlines and surrounding spaces, but the raw string is kept as the published
  // `resource` and as the default audience. A RESOURCE env var with a trailing newline (a mounted secret or
  // `$(cat file)`) starts fine, then no token ever matches (every call 401) and clients are told a resource with
  // a newline in it.
  it.each(['https://api.example.com/mcp\n', ' https://api.example.com/mcp', 'https://api.exa\tmple.com/mcp'])(
    'resource %j is refused at start-up or normalized',
    (resource) => {
      let resolved;
      try {
        resolved = resolveOptions({ ...base, resourceMetadata: { resource } });
      } catch (error) {
        expect(error).toBeInstanceOf(IntrospectionConfigurationError);
        return;
      }
      expect(resolved.resourceMetadata[0].resource).toBe(resource.replace(/\s/g, ''));
      expect(resolved.audience).toEqual([resource.replace(/\s/g, '')]);
    },
  );
});
