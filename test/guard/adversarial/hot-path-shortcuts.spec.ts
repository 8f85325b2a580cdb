// Adversarial review of the guard's hot-path shortcuts (round 18b; was attack18b-hotpath).
/**
 * Attacks on the hot-path cuts of issue 18 (one request slot, the duplicate-Authorization scan without
 * toLowerCase, the clock read only for step-up, one clock read per hit, the binding check skipped for plain
 * bearer results). Real oidc-provider, real HTTP over Express and Fastify; a loopback proxy in front of the
 * AS's real introspection endpoint rewrites `token_type` / `cnf` of chosen tokens (an AS that answers so).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import {
  Controller,
  Get,
  Injectable,
  Req,
  UseGuards,
  UseInterceptors,
  type CallHandler,
  type ExecutionContext,
  type INestApplication,
  type NestInterceptor,
} from '@nestjs/common';
import { dpopKeyPair, dpopProof, type DpopKeyPair } from '../../support/dpop.js';
import { Introspected, Public, RequireAuthentication, TokenGuard, type ActiveIntrospectionResult } from '../../../lib/index.js';
import { ADAPTERS, startApp } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../../support/authorization-server.js';
import { FaultyServer } from '../../support/faulty-server.js';
import { sleep } from '../../support/engine.js';
import { SubclassedGuard } from '../../support/subclassed-guard.js';

@Controller('t')
@UseGuards(TokenGuard)
class TargetController {
  @Get()
  get(@Introspected() token: ActiveIntrospectionResult | undefined, @Introspected('client_id') clientId: unknown, @Req() req: Record<string, unknown>) {
    return { clientId: clientId ?? null, has: token !== undefined, principalIsResult: req.principal === token, user: req.user ?? null };
  }

  @Public()
  @Get('public')
  open(@Introspected() token: unknown, @Req() req: Record<string, unknown>) {
    return { token: token ?? null, principal: req.principal ?? null };
  }

  @Get('step-up')
  @RequireAuthentication({ maxAge: 4 })
  stepUp(@Introspected('auth_time') authTime: unknown) {
    return { authTime };
  }
}

/** User code that overwrites the request properties after the guard ran (an interceptor runs after guards). */
@Injectable()
class OverwritingInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler) {
    const req = context.switchToHttp().getRequest<Record<string, unknown>>();
    req.principal = { client_id: 'forged-by-user-code' };
    req.user = { client_id: 'forged-user' };
    return next.handle();
  }
}

@Controller('overwritten')
@UseGuards(TokenGuard)
@UseInterceptors(OverwritingInterceptor)
class OverwrittenController {
  @Get()
  get(@Introspected() token: ActiveIntrospectionResult, @Introspected('client_id') clientId: unknown) {
    return { clientId, tokenClientId: token?.client_id ?? null };
  }
}

/** A guard subclass whose request cannot take new properties (`userProperty` already exists): the slot's WeakMap fallback. */
@Injectable()
class SealingTokenGuard extends SubclassedGuard {
  protected override getRequest(context: ExecutionContext): any {
    const request = super.getRequest(context);
    // Express's request is Node's IncomingMessage (an EventEmitter that adds properties itself): Fastify's only.
    if (typeof request.on === 'function') return request;
    if (!('principal' in request)) request.principal = undefined;
    Object.preventExtensions(request);
    return request;
  }
}

@Controller('sealed')
class SealedController {
  @Get()
  @UseGuards(SealingTokenGuard)
  get(@Introspected('client_id') clientId: unknown, @Req() req: Record<string, unknown>) {
    return {
      clientId: clientId ?? null,
      extensible: Object.isExtensible(req),
      principal: (req.principal as { client_id?: string } | undefined)?.client_id ?? null,
    };
  }
}

async function send(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, challenge: res.headers.get('www-authenticate') ?? '' };
}

/** A raw HTTP/1.1 request: header names and repetitions exactly as written (fetch would merge them). */
function raw(url: string, headerLines: string[]): Promise<{ status: number; text: string }> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0), text: data }));
    socket.write(`GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n${headerLines.map((l) => `${l}\r\n`).join('')}\r\n`);
  });
}

describe.each(ADAPTERS)('the guard’s hot path: bound tokens, duplicate headers, step-up and the request slot (%s)', (adapter) => {
  let as: TestAuthorizationServer;
  let proxy: FaultyServer;
  let api: { app: INestApplication; url: string };
  let key: DpopKeyPair;
  /** Rewrites of the AS's answer per token: `token_type` set (or deleted when undefined-valued key present), `cnf` dropped. */
  const rewrites = new Map<string, { token_type?: unknown; dropCnf?: boolean; cnf?: unknown }>();
  /** Introspection calls that reached the AS per token (through the proxy). */
  const calls = new Map<string, number>();

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    key = await dpopKeyPair();
    proxy = await FaultyServer.start(async (req, res, body) => {
      const token = new URLSearchParams(body).get('token') ?? '';
      calls.set(token, (calls.get(token) ?? 0) + 1);
      const answer = await fetch(as.introspectionEndpoint, {
        method: 'POST',
        headers: { authorization: req.headers.authorization ?? '', 'content-type': req.headers['content-type'] ?? '', accept: 'application/json' },
        body,
      });
      const json = (await answer.json()) as Record<string, unknown>;
      const rewrite = rewrites.get(token);
      if (rewrite && json.active === true) {
        if ('token_type' in rewrite) json.token_type = rewrite.token_type;
        if (rewrite.dropCnf) delete json.cnf;
        if ('cnf' in rewrite) json.cnf = rewrite.cnf;
      }
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(json));
    });
    api = await startApp(
      adapter,
      {
        introspectionEndpoint: proxy.url,
        allowInsecureRequests: true,
        ...CLIENTS.basic,
        resilience: { circuitBreaker: false },
        clockSkewSeconds: 0,
        userProperty: 'principal',
        // Guards per controller: the sealed route must be guarded by SealingTokenGuard alone.
        globalGuard: false,
      },
      [TargetController, OverwrittenController, SealedController],
      [],
      [SealingTokenGuard],
    );
  });
  afterAll(async () => {
    await api?.app.close();
    await proxy?.stop();
    await as?.stop();
  });

  const twice = async (token: string, path = '/t', scheme = 'Bearer') => [
    await send(`${api.url}${path}`, { authorization: `${scheme} ${token}` }),
    await send(`${api.url}${path}`, { authorization: `${scheme} ${token}` }),
  ];

  it.each(['DPoP', 'DPOP', 'dpop', 'dPoP'])('token_type %j without cnf, presented as Bearer: 401 on the lookup and on the cache hit', async (tokenType) => {
    const token = await as.issueToken({ scope: 'read' });
    rewrites.set(token, { token_type: tokenType, dropCnf: true });
    const [first, second] = await twice(token);
    expect([first.status, second.status]).toEqual([401, 401]);
    expect(second.challenge).toContain('error="invalid_token"');
    expect(second.challenge).toContain('DPoP');
    // The second answer came from the cache: the binding is checked on hits too.
    expect(calls.get(token)).toBe(1);
  });

  it.each([
    ['Bearer', 200],
    ['bearer', 200],
    ['BEARER', 200],
    ['DPoP ', 401],
    [' DPoP', 401],
    ['DPoP\u0000', 401],
    ['N_A', 401],
  ])(
    'token_type %j: %d on the lookup and on the cache hit (no bound type; anything but an access-token type is refused by validateClaims)',
    async (tokenType, expected) => {
      const token = await as.issueToken({ scope: 'read' });
      rewrites.set(token, { token_type: tokenType, dropCnf: true });
      const [first, second] = await twice(token);
      expect([first.status, second.status]).toEqual([expected, expected]);
      if (expected === 401) expect(second.challenge).toContain('invalid_token');
    },
  );

  it.each([[123], [null], [true], [['DPoP']], [{ DPoP: true }]])('a non-string token_type %j: never a 500, same answer on the cache hit', async (tokenType) => {
    const token = await as.issueToken({ scope: 'read' });
    rewrites.set(token, { token_type: tokenType, dropCnf: true });
    const [first, second] = await twice(token);
    // A malformed AS answer (token_type must be a string): never accepted, never a 500.
    expect(first.status).not.toBe(200);
    expect(first.status).not.toBe(500);
    expect(second.status).toBe(first.status);
  });

  it('a real DPoP-bound token (cnf.jkt, token_type DPoP) accepted with a proof is refused as Bearer on the cache hit', async () => {
    const token = await as.issueToken({ scope: 'read', dpop: key });
    const htu = `${api.url}/t`;
    const ok = await send(htu, { authorization: `DPoP ${token}`, dpop: await dpopProof(key, htu, token) });
    expect(ok.status).toBe(200);
    expect(ok.body.clientId).toBe(CLIENTS.app.clientId);
    const stolen = await send(htu, { authorization: `Bearer ${token}` });
    expect(stolen.status).toBe(401);
    expect(stolen.challenge).toContain('invalid_token');
    expect(calls.get(token)).toBe(1);
  });

  it('a DPoP-bound token whose AS answer keeps cnf.jkt but says token_type Bearer: still refused as Bearer (cnf decides)', async () => {
    const token = await as.issueToken({ scope: 'read', dpop: key });
    rewrites.set(token, { token_type: 'Bearer' });
    const [first, second] = await twice(token);
    expect([first.status, second.status]).toEqual([401, 401]);
    expect(calls.get(token)).toBe(1);
  });

  it('a certificate-bound token (cnf.x5t#S256) over plain HTTP as Bearer: 401 on the lookup and the cache hit', async () => {
    const token = await as.issueCertificateBoundToken(createHash('sha256').update('some cert').digest('base64url'));
    const [first, second] = await twice(token);
    expect([first.status, second.status]).toEqual([401, 401]);
    expect(second.challenge).toContain('invalid_token');
    expect(calls.get(token)).toBe(1);
  });

  it.each([[{}], [{ jwk: { kty: 'EC' } }], [null], [[]], ['x']])(
    'cnf %j (nothing this API can check) with token_type Bearer: refused on the lookup and the cache hit',
    async (cnf) => {
      const token = await as.issueToken({ scope: 'read' });
      rewrites.set(token, { token_type: 'Bearer', cnf });
      const [first, second] = await twice(token);
      expect([first.status, second.status]).toEqual([401, 401]);
      expect(calls.get(token)).toBeLessThanOrEqual(2);
    },
  );

  const CASES = ['Authorization', 'authorization', 'AUTHORIZATION', 'AuThOrIzAtIoN', 'aUTHORIZATION'];
  it('two Authorization headers in any letter case: 400 invalid_request, the AS never asked', async () => {
    const token = await as.issueToken({ scope: 'read' });
    for (const a of CASES) {
      for (const b of CASES) {
        const res = await raw(`${api.url}/t`, [`${a}: Bearer ${token}`, `${b}: Bearer ${token}`]);
        expect({ a, b, status: res.status }).toEqual({ a, b, status: 400 });
        expect(res.text).toContain('invalid_request');
      }
    }
    // Three, with one in between other headers.
    expect((await raw(`${api.url}/t`, [`AUTHORIZATION: Bearer ${token}`, 'X-Other: 1', `authorization: Bearer x`, 'AuthoriZation: Bearer y'])).status).toBe(
      400,
    );
    expect(calls.get(token)).toBeUndefined();
    // One header in any case is fine; a lookalike name (Proxy-Authorization, X-Authorization) is not counted.
    for (const a of CASES) expect((await raw(`${api.url}/t`, [`${a}: Bearer ${token}`])).status).toBe(200);
    expect((await raw(`${api.url}/t`, [`Authorization: Bearer ${token}`, `Proxy-Authorization: Bearer ${token}`, `X-Authorizatio: a`])).status).toBe(200);
    expect(calls.get(token)).toBe(1);
  });

  it('@RequireAuthentication({ maxAge }) on a cached result: refused once auth_time grows too old, with no AS call', async () => {
    const token = await as.issueToken({ scope: 'read', claims: { auth_time: Math.floor(Date.now() / 1000) } });
    const first = await send(`${api.url}/t/step-up`, { authorization: `Bearer ${token}` });
    expect(first.status).toBe(200);
    await sleep(5_200);
    const later = await send(`${api.url}/t/step-up`, { authorization: `Bearer ${token}` });
    expect(later.status).toBe(401);
    expect(later.challenge).toContain('insufficient_user_authentication');
    expect(later.challenge).toContain('max_age="4"');
    // A route without step-up still accepts the very same cached answer.
    expect((await send(`${api.url}/t`, { authorization: `Bearer ${token}` })).status).toBe(200);
    expect(calls.get(token)).toBe(1);
  }, 20_000);

  it('@RequireAuthentication({ maxAge }): auth_time in the future or missing is refused, on the lookup and the cache hit', async () => {
    const future = await as.issueToken({ scope: 'read', claims: { auth_time: Math.floor(Date.now() / 1000) + 3600 } });
    const none = await as.issueToken({ scope: 'read' });
    for (const token of [future, none]) {
      const [first, second] = await twice(token, '/t/step-up');
      expect([first.status, second.status]).toEqual([401, 401]);
      expect(second.challenge).toContain('insufficient_user_authentication');
      expect((await send(`${api.url}/t`, { authorization: `Bearer ${token}` })).status).toBe(200);
      expect(calls.get(token)).toBe(1);
    }
  });

  it('@Introspected() with userProperty "principal": the result on the lookup and the hit; request.user untouched', async () => {
    const token = await as.issueToken({ scope: 'read' });
    for (const res of await twice(token)) {
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ clientId: CLIENTS.app.clientId, has: true, principalIsResult: true, user: null });
    }
  });

  it('@Introspected() keeps the validated result when user code overwrites request.principal / request.user', async () => {
    const token = await as.issueToken({ scope: 'read' });
    for (const res of await twice(token, '/overwritten')) {
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ clientId: CLIENTS.app.clientId, tokenClientId: CLIENTS.app.clientId });
    }
  });

  it('a @Public route on the same keep-alive connection right after an accepted request sees no previous result', async () => {
    const token = await as.issueToken({ scope: 'read' });
    for (let i = 0; i < 3; i++) {
      expect((await send(`${api.url}/t`, { authorization: `Bearer ${token}` })).status).toBe(200);
      const open = await send(`${api.url}/t/public`);
      expect(open).toMatchObject({ status: 200, body: { token: null, principal: null } });
    }
  });

  it('a request that cannot take new properties (guard subclass): the result still reaches @Introspected(), lookup and hit', async () => {
    const token = await as.issueToken({ scope: 'read' });
    for (const res of await twice(token, '/sealed')) {
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ clientId: CLIENTS.app.clientId, extensible: adapter === 'express', principal: CLIENTS.app.clientId });
    }
    expect(calls.get(token)).toBe(1);
  });
});
