// Adversarial review of @OptionalToken() (issue 28 part 2): GraphQL sibling fields share one HTTP request.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import type { INestApplication } from '@nestjs/common';
import { GraphQLModule, Query, Resolver } from '@nestjs/graphql';
import { Introspected, OptionalToken, RequireDpop } from '../../../lib/index.js';
import { startApp } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer, introspectionAt } from '../../support/authorization-server.js';

@Resolver()
class ShopResolver {
  /** An ordinary protected field: a valid Bearer token is accepted here. */
  @Query(() => String)
  profile(@Introspected('client_id') clientId: string | undefined): string {
    return clientId ?? 'nobody';
  }

  /** Optional, but only for DPoP-bound tokens; a refused (Bearer) token runs anonymously. */
  @Query(() => String)
  @OptionalToken({ invalidToken: 'anonymous' })
  @RequireDpop()
  vault(@Introspected('client_id') clientId: string | undefined): string {
    return clientId === undefined ? 'anonymous' : `principal ${clientId}`;
  }
}

/**
 * FINDING (medium): `refuse()` under `invalidToken: 'anonymous'` returns true without clearing a principal that a
 * sibling field of the same GraphQL request already attached (acceptedTokens / request.user are per HTTP request).
 * A field that refuses the token (here: a Bearer token on a @RequireDpop() field) then runs WITH the principal of
 * the token it refused.
 */
describe('@OptionalToken({ invalidToken: "anonymous" }) GraphQL field beside a field that accepted the token (Apollo on Express)', () => {
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
      [ShopResolver],
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
    return (await res.json()) as any;
  }

  it('a field that refuses the token runs without a principal, whatever a sibling field accepted', async () => {
    const token = await as.issueToken({ scope: 'read' });
    // Alone, the vault refuses the Bearer token and runs anonymously (as designed).
    expect(await gql('{ vault }', `Bearer ${token}`)).toEqual({ data: { vault: 'anonymous' } });
    expect(await gql('{ profile }', `Bearer ${token}`)).toEqual({ data: { profile: CLIENTS.app.clientId } });
    // With a sibling that accepts it first (cached answer: decided synchronously, in field order).
    const res = await gql('{ profile vault }', `Bearer ${token}`);
    expect(res.data.profile).toBe(CLIENTS.app.clientId);
    expect(res.data.vault).toBe('anonymous');
  });
});
