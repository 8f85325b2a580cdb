import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import type { INestApplication } from '@nestjs/common';
import { GraphQLModule, Query, Resolver } from '@nestjs/graphql';
import { Introspected, OptionalToken, Scopes } from '../../lib/index.js';
import { startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';

@Resolver()
@OptionalToken()
class GreetingResolver {
  @Query(() => String)
  greeting(@Introspected('client_id') clientId: string | undefined): string {
    return clientId === undefined ? 'hello, guest' : `hello, ${clientId}`;
  }

  /** On the resolver itself: its @Scopes() apply to a sent token only (on the class alone, they would require one). */
  @Query(() => String)
  @OptionalToken()
  @Scopes('admin')
  offers(@Introspected('client_id') clientId: string | undefined): string {
    return clientId === undefined ? 'public offers' : `offers for ${clientId}`;
  }
}

/** GraphQL over HTTP (Apollo on Express: the suite's GraphQL driver; Mercurius goes through the same HTTP path of the guard). */
describe('@OptionalToken() resolvers in GraphQL over HTTP (Apollo on Express, real oidc-provider)', () => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    ({ app, url } = await startApp(
      'express',
      introspectionAt(as),
      [],
      [
        GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          autoSchemaFile: true,
          context: ({ req, res }: { req: unknown; res: unknown }) => ({ req, res }),
        }),
      ],
      [GreetingResolver],
    ));
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
  });

  async function gql(query: string, authorization?: string) {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify({ query }),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  }

  it('without a token the resolver runs without a principal, and the AS is not asked', async () => {
    as.resetCounters();
    const res = await gql('{ greeting }');
    expect(res.body).toEqual({ data: { greeting: 'hello, guest' } });
    expect(res.headers.get('www-authenticate')).toBeNull();
    expect(as.introspectionRequests).toBe(0);
  });

  it('with a valid token the resolver gets the principal', async () => {
    const token = await as.issueToken({ scope: 'read' });
    expect((await gql('{ greeting }', `Bearer ${token}`)).body).toEqual({ data: { greeting: `hello, ${CLIENTS.app.clientId}` } });
  });

  it('an unknown token: an Unauthorized error and the invalid_token challenge on the HTTP response', async () => {
    const res = await gql('{ greeting }', 'Bearer not-a-token-the-as-issued');
    expect(res.body.data).toBeNull();
    expect(res.body.errors[0].message).toMatch(/access token/i);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
  });

  it('malformed credentials: an invalid_request error and challenge, no call to the AS', async () => {
    as.resetCounters();
    const res = await gql('{ greeting }', 'Bearer two tokens');
    expect(res.body.data).toBeNull();
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_request"/);
    expect(as.introspectionRequests).toBe(0);
  });

  it("a valid token without the resolver's scope: a Forbidden error with insufficient_scope; without a token the resolver runs anonymously", async () => {
    const token = await as.issueToken({ scope: 'read' });
    const refused = await gql('{ offers }', `Bearer ${token}`);
    expect(refused.body.data).toBeNull();
    expect(refused.headers.get('www-authenticate')).toMatch(/error="insufficient_scope"/);
    expect((await gql('{ offers }')).body).toEqual({ data: { offers: 'public offers' } });
  });
});
