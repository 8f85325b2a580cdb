import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, type INestApplication } from '@nestjs/common';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { GraphQLModule, Query, Resolver, Subscription } from '@nestjs/graphql';
import { ClientProxyFactory, MessagePattern, Payload, Transport, type ClientProxy } from '@nestjs/microservices';
import { createClient } from 'graphql-ws';
import { firstValueFrom } from 'rxjs';
import WebSocket from 'ws';
import {
  ConnectionAuthenticator,
  Introspected,
  IntrospectionModule,
  IntrospectionService,
  Public,
  RequireAuthentication,
  RequireClaims,
  Roles,
  Scopes,
} from '../../lib/index.js';
import { createModuleApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { freePort } from '../support/free-port.js';

@Controller()
class StockHandlers {
  @MessagePattern('stock')
  @Scopes('read')
  stock(@Payload() data: { sku: string }, @Introspected('client_id') clientId: string) {
    return { sku: data.sku, for: clientId };
  }

  @MessagePattern('restock')
  @Scopes('admin')
  restock() {
    return { ok: true };
  }

  @MessagePattern('health')
  @Public()
  health() {
    return 'up';
  }

  @MessagePattern('audit')
  @Roles('auditor')
  audit() {
    return 'audited';
  }

  @MessagePattern('tenant')
  @RequireClaims({ tenant: 'acme' })
  tenant() {
    return 'acme';
  }

  @MessagePattern('vault')
  @Scopes('admin')
  @RequireAuthentication({ acrValues: ['gold'] })
  vault() {
    return 'open';
  }
}

describe('microservice handlers over a real TCP transport and ClientProxy, real authorization server', () => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let client: ClientProxy;
  let unconfigured: INestApplication;
  let plainClient: ClientProxy;

  async function start(microservice: boolean): Promise<{ app: INestApplication; client: ClientProxy }> {
    const nest = await createModuleApp('express', {
      imports: [
        IntrospectionModule.forRoot({
          ...introspectionAt(as),
          ...(microservice ? { microservice: { token: { in: 'payload', field: 'accessToken' } } } : {}),
        }),
      ],
      controllers: [StockHandlers],
    });
    const port = await freePort();
    // A hybrid application: global guards (APP_GUARD) reach its microservice only with `inheritAppConfig` (Nest's rule).
    await nest.init();
    nest.connectMicroservice({ transport: Transport.TCP, options: { host: '127.0.0.1', port } }, { inheritAppConfig: true });
    await nest.startAllMicroservices();
    const proxy = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
    await proxy.connect();
    return { app: nest, client: proxy };
  }

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    ({ app, client } = await start(true));
    ({ app: unconfigured, client: plainClient } = await start(false));
  });
  afterAll(async () => {
    client?.close();
    plainClient?.close();
    await app?.close();
    await unconfigured?.close();
    await as?.stop();
  });

  const send = (proxy: ClientProxy, pattern: string, data: unknown) =>
    firstValueFrom(proxy.send(pattern, data)).then(
      (value) => ({ value }),
      (error) => ({ error }),
    );

  it('a valid token in the payload: the handler runs, @Introspected() works', async () => {
    const accessToken = await as.issueToken({ scope: 'read' });
    expect(await send(client, 'stock', { sku: 'A-1', accessToken })).toEqual({ value: { sku: 'A-1', for: CLIENTS.app.clientId } });
  });

  it.each([
    ['no token', {}, { status: 401, error: 'invalid_token' }],
    ['a forged token', { accessToken: 'forged-token-1234567890' }, { status: 401, error: 'invalid_token' }],
    ['a malformed token', { accessToken: 'two words' }, { status: 400, error: 'invalid_request' }],
    ['a token that is not a string', { accessToken: { $ne: null } }, { status: 400, error: 'invalid_request' }],
    ['an oversized token', { accessToken: 'a'.repeat(10_000) }, { status: 400, error: 'invalid_request' }],
  ])('%s: an RpcException with a clear error object', async (_what, payload, expected) => {
    as.resetCounters();
    const { error } = (await send(client, 'stock', { sku: 'A-1', ...payload })) as { error: any };
    expect(error).toMatchObject(expected);
    expect(typeof error.message).toBe('string');
    if (expected.status === 400) expect(as.introspectionRequests).toBe(0);
  });

  it('@Scopes() on a handler: 403 insufficient_scope; @Public(): no token needed', async () => {
    const accessToken = await as.issueToken({ scope: 'read' });
    expect(((await send(client, 'restock', { accessToken })) as { error: any }).error).toMatchObject({ status: 403, error: 'insufficient_scope' });
    expect(await send(client, 'health', {})).toEqual({ value: 'up' });
  });

  it('@Roles / @RequireClaims: RpcException { status: 403, error: insufficient_scope }; the right token passes', async () => {
    const plain = await as.issueToken({ scope: 'read', claims: { roles: ['reader'], tenant: 'other' } });
    expect(((await send(client, 'audit', { accessToken: plain })) as { error: any }).error).toEqual({
      status: 403,
      error: 'insufficient_scope',
      message: 'The access token lacks a required role. Required: auditor.',
    });
    expect(((await send(client, 'tenant', { accessToken: plain })) as { error: any }).error).toMatchObject({ status: 403, error: 'insufficient_scope' });
    const good = await as.issueToken({ scope: 'read', claims: { roles: ['auditor'], tenant: 'acme' } });
    expect(await send(client, 'audit', { accessToken: good })).toEqual({ value: 'audited' });
    expect(await send(client, 'tenant', { accessToken: good })).toEqual({ value: 'acme' });
  });

  it('@RequireAuthentication: 401 insufficient_user_authentication with acrValues, checked before the missing scope', async () => {
    const weak = await as.issueToken({ scope: 'read', claims: { acr: 'silver' } });
    expect(((await send(client, 'vault', { accessToken: weak })) as { error: any }).error).toEqual({
      status: 401,
      error: 'insufficient_user_authentication',
      message: 'A different authentication level is required.',
      acrValues: 'gold',
    });
    const gold = await as.issueToken({ scope: 'read', claims: { acr: 'gold' } });
    expect(((await send(client, 'vault', { accessToken: gold })) as { error: any }).error).toMatchObject({ status: 403, error: 'insufficient_scope' });
    expect(await send(client, 'vault', { accessToken: await as.issueToken({ scope: 'admin', claims: { acr: 'gold' } }) })).toEqual({ value: 'open' });
  });

  it('without `microservice.token`, handlers that are not @Public() stay refused', async () => {
    const accessToken = await as.issueToken({ scope: 'read' });
    const { error } = (await send(plainClient, 'stock', { sku: 'A-1', accessToken })) as { error: any };
    expect(error).toMatchObject({ message: 'Forbidden resource' });
    expect(await send(plainClient, 'health', {})).toEqual({ value: 'up' });
  });
});

@Resolver()
class TicksResolver {
  @Query(() => String)
  @Public()
  hello(): string {
    return 'hi';
  }

  @Subscription(() => String)
  @Scopes('read')
  ticks(@Introspected('client_id') clientId: string) {
    return (async function* () {
      for (let i = 0; i < 2; i++) yield { ticks: `${clientId}:${i}` };
    })();
  }

  @Subscription(() => String)
  @Roles('operator')
  @RequireAuthentication({ acrValues: ['gold'] })
  incidents() {
    return (async function* () {
      yield { incidents: 'none' };
    })();
  }

  @Subscription(() => String)
  @Scopes('admin')
  alarms() {
    return (async function* () {
      yield { alarms: 'fire' };
    })();
  }
}

describe('GraphQL subscriptions over graphql-ws (Apollo), real graphql-ws client, real authorization server', () => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let wsUrl: string;

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    const introspection = IntrospectionModule.forRoot({
      ...introspectionAt(as),
      cache: { ttlSeconds: 1 },
    });
    app = await createModuleApp('express', {
      imports: [
        introspection,
        GraphQLModule.forRootAsync<ApolloDriverConfig>({
          driver: ApolloDriver,
          inject: [ConnectionAuthenticator],
          useFactory: (auth: ConnectionAuthenticator) => ({
            autoSchemaFile: true,
            subscriptions: { 'graphql-ws': { ...auth.graphqlWs() } },
            // The usual HTTP context function: @nestjs/apollo hands the graphql-ws context over as `req`.
            context: ({ req, res }: { req?: unknown; res?: unknown }) => ({ req, res }),
          }),
        }),
      ],
      providers: [TicksResolver],
    });
    await app.listen(0, '127.0.0.1');
    wsUrl = (await app.getUrl()).replace('http://[::1]', 'http://127.0.0.1').replace('http', 'ws') + '/graphql';
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
  });

  /** Subscribes once; resolves to the values, the GraphQL errors, or the close event of the connection. */
  function subscribe(query: string, connectionParams: Record<string, unknown>) {
    return new Promise<{ values: unknown[]; errors?: any; closed?: { code: number; reason: string } }>((resolve) => {
      const values: unknown[] = [];
      let closed: { code: number; reason: string } | undefined;
      const gql = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        connectionParams,
        retryAttempts: 0,
        lazy: true,
        on: { closed: (event: any) => (closed = { code: event.code, reason: String(event.reason) }) },
      });
      gql.subscribe(
        { query },
        {
          next: (value) => values.push(value.data ?? value.errors),
          error: (errors) => {
            void gql.dispose();
            setTimeout(() => resolve({ values, errors, closed }), 20);
          },
          complete: () => {
            void gql.dispose();
            resolve({ values, closed });
          },
        },
      );
    });
  }

  it('a valid token in connectionParams: the subscription runs, @Introspected() works', async () => {
    const token = await as.issueToken({ scope: 'read' });
    const { values } = await subscribe('subscription { ticks }', { authorization: `Bearer ${token}` });
    expect(values).toEqual([{ ticks: `${CLIENTS.app.clientId}:0` }, { ticks: `${CLIENTS.app.clientId}:1` }]);
  });

  it.each([
    ['no token', {}, 4401],
    ['a forged token', { authorization: 'Bearer forged-token-123456789' }, 4401],
    ['a malformed token', { authorization: 'Bearer a b' }, 4400],
    ['a token that is not a string', { authorization: { toString: 'x' } }, 4400],
  ])('%s: the connection is closed with a close code saying why', async (_what, params, code) => {
    const { values, closed } = await subscribe('subscription { ticks }', params);
    expect(values).toEqual([]);
    expect(closed?.code).toBe(code);
  });

  it('@Scopes() on a subscription resolver: a GraphQL error (403), no values', async () => {
    const token = await as.issueToken({ scope: 'read' });
    const { values, errors } = await subscribe('subscription { alarms }', { authorization: token });
    expect(values.flat()).toEqual([expect.objectContaining({ message: expect.stringMatching(/lacks a required scope/) })]);
    expect(errors ?? values).toBeDefined();
  });

  it('@Roles / @RequireAuthentication on a subscription resolver: 401 step-up first, then 403 role, then values', async () => {
    const none = await subscribe('subscription { incidents }', { authorization: await as.issueToken({ scope: 'read', claims: { acr: 'silver' } }) });
    expect(none.values.flat()).toEqual([expect.objectContaining({ message: 'A different authentication level is required.' })]);
    const gold = await subscribe('subscription { incidents }', { authorization: await as.issueToken({ scope: 'read', claims: { acr: 'gold' } }) });
    expect(gold.values.flat()).toEqual([expect.objectContaining({ message: 'The access token lacks a required role. Required: operator.' })]);
    const ok = await subscribe('subscription { incidents }', {
      authorization: await as.issueToken({ scope: 'read', claims: { acr: 'gold', roles: ['operator'] } }),
    });
    expect(ok.values).toEqual([{ incidents: 'none' }]);
  });

  it('revoked and evicted while subscribed: the connection is closed with 4401', async () => {
    const token = await as.issueToken({ scope: 'read' });
    const closed = new Promise<number>((resolve) => {
      const gql = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${token}` },
        retryAttempts: 0,
        lazy: false,
        on: { closed: (event: any) => resolve(event.code), connected: () => void revokeLater() },
      });
      void gql;
    });
    const revokeLater = async () => {
      await as.revoke(token);
      await app.get(IntrospectionService).evict(token);
    };
    expect(await closed).toBe(4401);
  });
});
