// Adversarial review of @OptionalToken() (issue 28 part 2): GraphQL sibling fields share one HTTP request.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import type { INestApplication } from '@nestjs/common';
import { GraphQLModule, Query, Resolver } from '@nestjs/graphql';
import { Introspected, OptionalToken, RequireDpop } from '../../../lib/index.js';
import { startApp } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../../support/authorization-server.js';
import { ChaosProxy } from '../../support/chaos-proxy.js';

@Resolver()
class ShopResolver {
  /** An ordinary protected field: a valid Bearer token is accepted here. */
  @Query(() => String)
  profile(@Introspected('client_id') clientId: string | undefined): string {
    return clientId ?? 'nobody';
  }

  /** Optional, but only for DPoP-bound tokens; over HTTP a refused (Bearer) token would run anonymously. */
  @Query(() => String)
  @OptionalToken({ invalidToken: 'anonymous' })
  @RequireDpop()
  vault(@Introspected('client_id') clientId: string | undefined): string {
    return clientId === undefined ? 'anonymous' : `principal ${clientId}`;
  }

  /** Optional with the default onOutage: 'anonymous'. */
  @Query(() => String)
  @OptionalToken()
  catalogue(@Introspected('client_id') clientId: string | undefined): string {
    return clientId === undefined ? 'anonymous' : `principal ${clientId}`;
  }
}

/**
 * FINDING (fixed): `refuse()` under `invalidToken: 'anonymous'` returned true without clearing a principal that a
 * sibling field of the same GraphQL request had already attached (acceptedTokens / request.user are per HTTP request):
 * a field that refused the token (a Bearer token on a @RequireDpop() field) ran WITH the principal of the token it
 * refused. The rule now: in GraphQL the anonymous outcomes for a sent token (invalidToken / onOutage 'anonymous') are
 * not used — the field gets the refusal or the 503 error; without a token it still runs anonymously.
 */
describe('@OptionalToken() GraphQL fields and a sent token they cannot use (Apollo on Express, real oidc-provider behind a chaos proxy)', () => {
  let as: TestAuthorizationServer;
  let proxy: ChaosProxy;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    proxy = await ChaosProxy.start(as.issuer);
    ({ app, url } = await startApp(
      'express',
      {
        introspectionEndpoint: proxy.url('/token/introspection'),
        allowInsecureRequests: true,
        ...CLIENTS.basic,
        resilience: { retries: 0, attemptTimeoutMs: 1000, deadlineMs: 1500 },
      },
      [],
      [
        GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          autoSchemaFile: true,
          context: ({ req, res }: { req: unknown; res: unknown }) => ({ req, res }),
        }),
      ],
      [ShopResolver],
    ));
  });
  afterAll(async () => {
    await app?.close();
    await proxy?.stop();
    await as?.stop();
  });

  async function gql(query: string, authorization?: string) {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify({ query }),
    });
    return { body: (await res.json()) as any, headers: res.headers };
  }

  it("invalidToken: 'anonymous' in GraphQL: a refused token gets the 401 error, alone or beside a field that accepted it, never a sibling's principal", async () => {
    const token = await as.issueToken({ scope: 'read' });
    expect((await gql('{ profile }', `Bearer ${token}`)).body).toEqual({ data: { profile: CLIENTS.app.clientId } });
    for (const query of ['{ vault }', '{ profile vault }']) {
      const res = await gql(query, `Bearer ${token}`);
      expect(res.body.data).toBeNull();
      expect(res.body.errors.map((e: any) => [e.path, e.extensions.originalError.statusCode])).toEqual([[['vault'], 401]]);
      expect(JSON.stringify(res.body)).not.toContain('principal');
    }
    // Without a token the field still runs anonymously.
    expect((await gql('{ vault catalogue }')).body).toEqual({ data: { vault: 'anonymous', catalogue: 'anonymous' } });
  });

  it("onOutage: 'anonymous' in GraphQL: a sent token the AS cannot check gets the 503 error; without a token the field runs anonymously", async () => {
    const token = await as.issueToken({ scope: 'read' });
    await proxy.setMode('down');
    try {
      const res = await gql('{ catalogue }', `Bearer ${token}`);
      expect(res.body.data).toBeNull();
      expect(res.body.errors.map((e: any) => [e.path, e.extensions.originalError.statusCode])).toEqual([[['catalogue'], 503]]);
      expect(res.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      expect((await gql('{ catalogue }')).body).toEqual({ data: { catalogue: 'anonymous' } });
    } finally {
      await proxy.setMode('ok');
    }
    expect((await gql('{ catalogue }', `Bearer ${token}`)).body).toEqual({ data: { catalogue: `principal ${CLIENTS.app.clientId}` } });
  });
});
