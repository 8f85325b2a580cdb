// A test the app's developers add next to the generated one: protected routes tested with the
// library's test kit (no network authorization server), through the real guard, cache and resilience.
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AuthorizationServerUnavailableError, IntrospectionService } from 'nestjs-token-introspection';
import { InMemoryAuthorizationServer, overrideIntrospection } from 'nestjs-token-introspection/testing';
import { AppModule } from './../src/app.module.js';

describe('Protected routes (e2e, test kit)', () => {
  let app: INestApplication;
  const as = new InMemoryAuthorizationServer()
    .activeToken('reader', { scope: 'read', sub: 'alice' })
    .activeToken('writer', { scope: 'read write', client_id: 'shop' });

  beforeEach(async () => {
    const moduleFixture = await overrideIntrospection(Test.createTestingModule({ imports: [AppModule] }), as).compile();
    app = moduleFixture.createNestApplication({ logger: false });
    await app.init();
  });

  afterEach(async () => {
    as.endOutage();
    await app.close();
  });

  it('200 with a declared token and its claims', () => {
    return request(app.getHttpServer())
      .get('/orders')
      .set('Authorization', 'Bearer reader')
      .expect(200)
      .expect({ for: 'alice', scopes: ['read'] });
  });

  it('request.user and @Introspected(claim) carry the token', () => {
    return request(app.getHttpServer())
      .get('/orders/me')
      .set('Authorization', 'Bearer writer')
      .expect(200)
      .expect((res) => {
        expect(res.body).toMatchObject({ clientId: 'shop', sameAsUser: true, expiresAt: expect.any(Number) });
      });
  });

  it('401 without a token, 401 invalid_token for an unknown one', async () => {
    await request(app.getHttpServer()).get('/orders').expect(401).expect('WWW-Authenticate', 'Bearer');
    await request(app.getHttpServer())
      .get('/orders')
      .set('Authorization', 'Bearer nope')
      .expect(401)
      .expect('WWW-Authenticate', /invalid_token/);
  });

  it('403 insufficient_scope without write, 201 with it', async () => {
    await request(app.getHttpServer())
      .post('/orders')
      .set('Authorization', 'Bearer reader')
      .expect(403)
      .expect('WWW-Authenticate', /insufficient_scope/);
    await request(app.getHttpServer()).post('/orders').set('Authorization', 'Bearer writer').expect(201);
  });

  it('503 + Retry-After while the authorization server is down', () => {
    as.simulateOutage();
    return request(app.getHttpServer()).get('/orders').set('Authorization', 'Bearer writer').expect(503).expect('Retry-After', /^\d+$/);
  });

  it('one module instance: engine errors are instances of the exported classes', async () => {
    as.simulateOutage();
    await expect(app.get(IntrospectionService).introspect('writer')).rejects.toBeInstanceOf(AuthorizationServerUnavailableError);
  });
});
