import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { IntrospectionModule, IntrospectionService, InvalidTokenError, type IntrospectionModuleOptions } from '../../lib/index.js';
import { CLIENTS, TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { createEngine, sleep } from '../support/engine.js';

describe('IntrospectionService against a real authorization server (oidc-provider)', () => {
  let as: TestAuthorizationServer;
  const closers: Array<() => Promise<unknown>> = [];
  const engine = async (extra: Partial<IntrospectionModuleOptions> = {}) => {
    const e = await createEngine({
      ...introspectionAt(as),
      ...extra,
    });
    closers.push(e.close);
    return e.service;
  };

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
  });
  afterAll(async () => {
    for (const close of closers) await close();
    await as.stop();
  });

  it('returns the RFC 7662 claims of an active token, with scopes parsed beside them', async () => {
    const service = await engine();
    const token = await as.issueToken({ scope: 'read write' });
    const result = await service.introspect(token);
    expect(result).toMatchObject({ active: true, client_id: CLIENTS.app.clientId, scope: 'read write', iss: as.issuer, token_type: 'Bearer' });
    expect(result.active && result.scopes).toEqual(['read', 'write']);
    expect(result.active && typeof result.exp).toBe('number');
    expect(Object.isFrozen(result)).toBe(true);
  });

  it('answers { active: false } for an unknown token and caches that briefly', async () => {
    const service = await engine();
    as.resetCounters();
    expect(await service.introspect('unknown-token-123')).toEqual({ active: false, reason: 'inactive' });
    expect(await service.introspect('unknown-token-123')).toEqual({ active: false, reason: 'inactive' });
    expect(as.introspectionRequests).toBe(1);
    await expect(service.authenticate('unknown-token-123')).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('caches an active result: one AS call for many lookups', async () => {
    const service = await engine();
    const token = await as.issueToken({ scope: 'read' });
    as.resetCounters();
    for (let i = 0; i < 50; i++) expect((await service.introspect(token)).active).toBe(true);
    expect(as.introspectionRequests).toBe(1);
  });

  it('sees a revocation after evict(); without evict the cached result stands until its TTL', async () => {
    const service = await engine({ cache: { ttlSeconds: 1 } });
    const token = await as.issueToken({ scope: 'read' });
    expect((await service.introspect(token)).active).toBe(true);
    await as.revoke(token);
    expect((await service.introspect(token)).active).toBe(true); // cached, as documented
    await service.evict(token);
    expect(await service.introspect(token)).toEqual({ active: false, reason: 'inactive' });

    const other = await as.issueToken({ scope: 'read' });
    expect((await service.introspect(other)).active).toBe(true);
    await as.revoke(other);
    await sleep(1100); // ttlSeconds: 1
    expect((await service.introspect(other)).active).toBe(false);
  });

  it('never serves a cached result past the token expiry', async () => {
    const shortLived = await TestAuthorizationServer.start({ tokenTtlSeconds: 2 });
    try {
      const e = await createEngine({
        introspectionEndpoint: shortLived.introspectionEndpoint,
        allowInsecureRequests: true,
        ...CLIENTS.basic,
        cache: { ttlSeconds: 60 },
      });
      closers.push(e.close);
      const token = await shortLived.issueToken({ scope: 'read' });
      expect((await e.service.introspect(token)).active).toBe(true);
      await sleep(2100);
      shortLived.resetCounters();
      expect((await e.service.introspect(token)).active).toBe(false);
      expect(shortLived.introspectionRequests).toBe(1);
    } finally {
      await shortLived.stop();
    }
  });

  it('checks the audience (string or list) and the expected issuer locally', async () => {
    const token = await as.issueToken({ scope: 'read', resource: 'https://api.example.com' });
    const noAud = await as.issueToken({ scope: 'read' });
    const right = await engine({ audience: ['https://other.example.com', 'https://api.example.com'], expectedIssuer: as.issuer });
    expect((await right.introspect(token)).active).toBe(true);
    expect(await right.introspect(noAud)).toEqual({ active: false, reason: 'audience_mismatch' });
    const wrongAud = await engine({ audience: 'https://other.example.com' });
    expect(await wrongAud.introspect(token)).toEqual({ active: false, reason: 'audience_mismatch' });
    const wrongIss = await engine({ expectedIssuer: 'https://evil.example.com' });
    expect(await wrongIss.introspect(token)).toEqual({ active: false, reason: 'issuer_mismatch' });
  });

  it('200 concurrent lookups of one new token make exactly 1 call to the real AS', async () => {
    const service = await engine();
    const token = await as.issueToken({ scope: 'read' });
    as.resetCounters();
    const results = await Promise.all(Array.from({ length: 200 }, () => service.introspect(token)));
    expect(results.every((r) => r.active)).toBe(true);
    console.log(`single-flight (real AS): 200 concurrent lookups → ${as.introspectionRequests} introspection request(s)`);
    expect(as.introspectionRequests).toBe(1);
  });

  it('a hook that throws is logged and never breaks a lookup', async () => {
    const service = await engine({
      events: {
        onTokenValidated: () => {
          throw new Error('audit sink down');
        },
      },
    });
    const token = await as.issueToken({ scope: 'read' });
    expect((await service.introspect(token)).active).toBe(true);
    expect((await service.introspect(token)).active).toBe(true);
  });

  it('discovers the introspection endpoint from the issuer', async () => {
    const service = await engine({ introspectionEndpoint: undefined, issuer: as.issuer });
    const token = await as.issueToken({ scope: 'read' });
    as.resetCounters();
    expect((await service.introspect(token)).active).toBe(true);
    expect(as.introspectionRequests).toBe(1);
  });

  describe.each([
    ['client_secret_basic', () => ({ ...CLIENTS.basic, clientAuthMethod: 'client_secret_basic' as const }), 'basic'],
    ['client_secret_post', () => ({ ...CLIENTS.post, clientAuthMethod: 'client_secret_post' as const }), 'post'],
    [
      'private_key_jwt',
      () => ({ clientId: CLIENTS.jwt.clientId, clientAuthMethod: 'private_key_jwt' as const, privateKey: as.jwtClientKey.privateJwk }),
      'jwt',
    ],
  ])('client authentication %s', (_name, options, kind) => {
    it('authenticates to the introspection endpoint, sending token_type_hint and Accept: application/json', async () => {
      const service = await engine(options());
      const token = await as.issueToken({ scope: 'admin' });
      as.resetCounters();
      expect((await service.introspect(token)).active).toBe(true);
      const { headers } = as.introspectionLog[0];
      expect(headers.accept).toBe('application/json');
      if (kind === 'basic') expect(headers.authorization).toMatch(/^Basic /);
      else expect(headers.authorization).toBeUndefined();
    });
  });

  it('works with forRootAsync (useFactory + inject + imports) and useClass', async () => {
    @Injectable()
    class Config {
      get() {
        return { introspectionEndpoint: as.introspectionEndpoint, allowInsecureRequests: true, ...CLIENTS.basic };
      }
    }
    @Module({ providers: [Config], exports: [Config] })
    class ConfigModule {}
    @Injectable()
    class OptionsFactory {
      createIntrospectionOptions(): IntrospectionModuleOptions {
        return new Config().get();
      }
    }
    const token = await as.issueToken({ scope: 'read' });
    for (const dynamic of [
      IntrospectionModule.forRootAsync({ imports: [ConfigModule], inject: [Config], useFactory: (c: Config) => c.get() }),
      IntrospectionModule.forRootAsync({ useClass: OptionsFactory }),
    ]) {
      const ref = await Test.createTestingModule({ imports: [dynamic] }).compile();
      await ref.init();
      closers.push(() => ref.close());
      expect((await ref.get(IntrospectionService).introspect(token)).active).toBe(true);
    }
  });
});

describe('start-up validation through Nest', () => {
  it('fails application start-up with a message that says what to change', async () => {
    const { IntrospectionConfigurationError } = await import('../../lib/index.js');
    const compile = Test.createTestingModule({
      imports: [IntrospectionModule.forRoot({ introspectionEndpoint: 'http://as.local/introspect', clientId: 'api' })],
    }).compile();
    await expect(compile).rejects.toBeInstanceOf(IntrospectionConfigurationError);
    await expect(
      Test.createTestingModule({
        imports: [IntrospectionModule.forRoot({ introspectionEndpoint: 'http://as.local/introspect', clientId: 'api' })],
      }).compile(),
    ).rejects.toThrow(/allowInsecureRequests: true[\s\S]*needs `clientSecret`/);
  });
});
