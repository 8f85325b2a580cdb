// DPoP at the guard however the guard or the engine was built: a subclassed guard with its own constructor, a guard in a
// feature module, an engine replaced by overrideProvider(IntrospectionService) (useClass and useValue). The guard verifies
// proofs through the public methods of the engine it was given, as it always did (issue 24 review, finding F1).
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Module, UseGuards, type INestApplication } from '@nestjs/common';
import { APP_GUARD, Reflector } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test, type TestingModuleBuilder } from '@nestjs/testing';
import { calculateJwkThumbprint } from 'jose';
import {
  DpopProofError,
  IntrospectionModule,
  IntrospectionService,
  RESOLVED_OPTIONS,
  RequireDpop,
  TokenGuard,
  type DpopRequestContext,
  type IntrospectionModuleOptions,
  type ResolvedOptions,
  type VerifiedDpopProof,
} from '../../../lib/index.js';
import { InMemoryAuthorizationServer, overrideIntrospection } from '../../../lib/testing/index.js';
import { ADAPTERS, type AdapterName } from '../../support/app.js';
import { dpopKeyPair, dpopProof, type DpopKeyPair } from '../../support/dpop.js';
import { quietLogger } from '../../support/engine.js';
import { SubclassedGuard } from '../../support/subclassed-guard.js';

@Controller('dpop-only')
@RequireDpop()
class DpopOnlyController {
  @Get()
  get() {
    return { ok: true };
  }
}

@Controller('any')
class AnySchemeController {
  @Get()
  get() {
    return { ok: true };
  }
}

@Controller('feature-dpop')
@UseGuards(TokenGuard)
@RequireDpop()
class FeatureDpopController {
  @Get()
  get() {
    return { ok: true };
  }
}
@Module({ controllers: [FeatureDpopController] })
class FeatureModule {}

const BASE: IntrospectionModuleOptions = { issuer: 'https://as.example.test', clientId: 'api', clientSecret: 's', resilience: { retries: 0 } };

describe.each(ADAPTERS)('DPoP through however the guard and the engine were built (%s)', (adapter: AdapterName) => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start(
    options: Partial<IntrospectionModuleOptions>,
    wiring: { providers?: unknown[]; imports?: unknown[]; controllers?: unknown[] } = {},
    tweak: (builder: TestingModuleBuilder) => TestingModuleBuilder = (builder) => builder,
  ): Promise<string> {
    @Module({
      imports: [IntrospectionModule.forRoot({ ...BASE, ...options }), ...((wiring.imports ?? []) as never[])],
      controllers: (wiring.controllers ?? [DpopOnlyController, AnySchemeController]) as never[],
      providers: (wiring.providers ?? []) as never[],
    })
    class AppModule {}
    const moduleRef = await tweak(Test.createTestingModule({ imports: [AppModule] }).setLogger(quietLogger)).compile();
    app =
      adapter === 'express'
        ? moduleRef.createNestApplication(new ExpressAdapter(), { logger: quietLogger })
        : moduleRef.createNestApplication(new FastifyAdapter(), { logger: quietLogger });
    await app.listen(0, '127.0.0.1');
    return (await app.getUrl()).replace('[::1]', '127.0.0.1');
  }

  async function get(url: string, authorization: string, dpop?: string): Promise<number> {
    const headers: Record<string, string> = { authorization };
    if (dpop) headers.dpop = dpop;
    const response = await fetch(url, { headers });
    await response.arrayBuffer();
    return response.status;
  }

  async function boundToken(key: DpopKeyPair): Promise<InMemoryAuthorizationServer> {
    const jkt = await calculateJwkThumbprint(key.publicJwk);
    return new InMemoryAuthorizationServer().activeToken('bound', { cnf: { jkt } }).activeToken('plain', {});
  }

  it('a subclassed guard with its own constructor (APP_GUARD) verifies proofs, refuses bearer tokens, replays and junk', async () => {
    const key = await dpopKeyPair();
    const as = await boundToken(key);
    const url = await start({ globalGuard: false }, { providers: [{ provide: APP_GUARD, useClass: SubclassedGuard }] }, (b) => overrideIntrospection(b, as));
    expect(await get(`${url}/dpop-only`, 'Bearer plain')).toBe(401);
    expect(await get(`${url}/dpop-only`, 'Bearer bound')).toBe(401);
    const proof = await dpopProof(key, `${url}/dpop-only`, 'bound');
    expect(await get(`${url}/dpop-only`, 'DPoP bound', proof)).toBe(200);
    expect(await get(`${url}/dpop-only`, 'DPoP bound', proof)).toBe(401);
    expect(await get(`${url}/dpop-only`, 'DPoP bound', 'garbage.proof.x')).toBe(401);
    expect(await get(`${url}/dpop-only`, 'DPoP bound')).toBe(401);
  });

  it('@UseGuards(TokenGuard) in a feature module verifies proofs and refuses a replay', async () => {
    const key = await dpopKeyPair();
    const as = await boundToken(key);
    const url = await start({ globalGuard: false }, { imports: [FeatureModule], controllers: [] }, (b) => overrideIntrospection(b, as));
    expect(await get(`${url}/feature-dpop`, 'Bearer plain')).toBe(401);
    const proof = await dpopProof(key, `${url}/feature-dpop`, 'bound');
    expect(await get(`${url}/feature-dpop`, 'DPoP bound', proof)).toBe(200);
    expect(await get(`${url}/feature-dpop`, 'DPoP bound', proof)).toBe(401);
  });

  it('an APP_GUARD built in a useFactory with a copy of the options verifies proofs', async () => {
    const key = await dpopKeyPair();
    const as = await boundToken(key);
    const copied = {
      provide: APP_GUARD,
      useFactory: (reflector: Reflector, service: IntrospectionService, options: ResolvedOptions) =>
        new TokenGuard(reflector, service, { ...options, userProperty: 'auth' }),
      inject: [Reflector, IntrospectionService, RESOLVED_OPTIONS],
    };
    const url = await start({ globalGuard: false }, { providers: [copied] }, (b) => overrideIntrospection(b, as));
    const proof = await dpopProof(key, `${url}/dpop-only`, 'bound');
    expect(await get(`${url}/dpop-only`, 'DPoP bound', proof)).toBe(200);
    expect(await get(`${url}/dpop-only`, 'DPoP bound', proof)).toBe(401);
    expect(await get(`${url}/dpop-only`, 'Bearer plain')).toBe(401);
  });

  it('a subclass whose requestUri() or certificateThumbprint() throws: a DPoP request is refused with 401, never a 500', async () => {
    const key = await dpopKeyPair();
    const as = await boundToken(key);
    @Injectable()
    class ThrowingUri extends SubclassedGuard {
      protected override requestUri(): string {
        throw new Error('no URI for this request');
      }
    }
    @Injectable()
    class ThrowingCertificate extends SubclassedGuard {
      protected override certificateThumbprint(): string | undefined {
        throw new Error('certificate store unavailable');
      }
    }
    for (const guard of [ThrowingUri, ThrowingCertificate]) {
      const url = await start({ globalGuard: false }, { providers: [{ provide: APP_GUARD, useClass: guard }] }, (b) => overrideIntrospection(b, as));
      const proof = await dpopProof(key, `${url}/any`, 'bound');
      const response = await fetch(`${url}/any`, { headers: { authorization: 'DPoP bound', dpop: proof } });
      expect([guard.name, response.status]).toEqual([guard.name, 401]);
      expect(response.headers.get('www-authenticate')).toMatch(/^DPoP .*error="invalid_dpop_proof"/);
      await app?.close();
      app = undefined;
    }
  });

  it('an engine overridden with a stricter verifyDpopProof() (useClass) is honoured: its refusal is the answer', async () => {
    const key = await dpopKeyPair();
    const as = await boundToken(key);
    const calls: string[] = [];
    @Injectable()
    class StricterService extends IntrospectionService {
      override verifyDpopProof(): Promise<VerifiedDpopProof> {
        calls.push('verify');
        return Promise.reject(new DpopProofError('invalid_dpop_proof', 'Our policy refuses every proof.'));
      }
    }
    const url = await start({}, {}, (b) => overrideIntrospection(b, as).overrideProvider(IntrospectionService).useClass(StricterService));
    const proof = await dpopProof(key, `${url}/any`, 'bound');
    const response = await fetch(`${url}/any`, { headers: { authorization: 'DPoP bound', dpop: proof } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/error="invalid_dpop_proof".*Our policy refuses every proof/);
    expect(calls).toEqual(['verify']);
  });

  it('an engine replaced by a stub (useValue) verifies and records the proof: the guard asks the stub', async () => {
    const calls: string[] = [];
    const stub = {
      cachedResult: () => undefined,
      introspect: () => Promise.resolve({ active: true, scopes: [], sub: 'alice', cnf: { jkt: 'k' } }),
      verifyDpopProof: (proof: string, request: DpopRequestContext) => {
        calls.push(`verify ${proof} ${request.method} ${new URL(request.uri).pathname}`);
        return Promise.resolve({ jkt: 'k', jti: 'j', iat: 0 });
      },
      consumeDpopProof: () => (calls.push('consume'), Promise.resolve()),
      dpopNonce: undefined,
      onApplicationShutdown: () => undefined,
      onEvicted: () => undefined,
    };
    const url = await start({}, {}, (b) => b.overrideProvider(IntrospectionService).useValue(stub));
    expect(await get(`${url}/any`, 'DPoP tok', 'a.b.c')).toBe(200);
    expect(calls).toEqual(['verify a.b.c GET /any', 'consume']);
  });
});
