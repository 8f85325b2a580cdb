import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import type { INestApplication } from '@nestjs/common';
import { GraphQLModule, Query, Resolver } from '@nestjs/graphql';
import { AnyScope, Introspected, Public, Scopes } from '../../lib/index.js';
import { startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../support/authorization-server.js';

@Resolver()
class AccountResolver {
  @Query(() => String)
  @Scopes('read')
  whoami(@Introspected('client_id') clientId: string): string {
    return clientId;
  }

  @Query(() => String)
  @AnyScope('admin')
  secret(): string {
    return 'admin only';
  }

  @Query(() => String)
  @Public()
  ping(): string {
    return 'pong';
  }
}

describe('TokenGuard in GraphQL resolvers (Apollo on Express, real authorization server)', () => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    ({ app, url } = await startApp(
      'express',
      { introspectionEndpoint: as.introspectionEndpoint, allowInsecureRequests: true, ...CLIENTS.basic },
      [],
      [
        GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          autoSchemaFile: true,
          context: ({ req, res }: { req: unknown; res: unknown }) => ({ req, res }),
        }),
      ],
      [AccountResolver],
    ));
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
  });

  async function gql(query: string, token?: string) {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query }),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  }

  it('a protected query resolves with a valid token and exposes the result to the resolver', async () => {
    const token = await as.issueToken({ scope: 'read' });
    const res = await gql('{ whoami }', token);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({ whoami: CLIENTS.app.clientId });
  });

  it('without a token: an Unauthorized error and the Bearer challenge on the HTTP response', async () => {
    const res = await gql('{ whoami }');
    expect(res.body.data).toBeNull();
    expect(res.body.errors[0].message).toMatch(/access token is required/);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('a missing scope: a Forbidden error with insufficient_scope', async () => {
    const token = await as.issueToken({ scope: 'read' });
    const res = await gql('{ secret }', token);
    expect(res.body.errors[0].message).toMatch(/needs one of these scopes: admin/);
    expect(res.headers.get('www-authenticate')).toMatch(/error="insufficient_scope"/);
  });

  it('@Public() resolvers need no token', async () => {
    as.resetCounters();
    expect((await gql('{ ping }')).body.data).toEqual({ ping: 'pong' });
    expect(as.introspectionRequests).toBe(0);
  });
});

describe('GraphQL over HTTP with RFC 9728 metadata (Apollo on Express, real authorization server)', () => {
  const RESOURCE = 'https://api.example.com';
  const METADATA_URL = 'https://api.example.com/.well-known/oauth-protected-resource';
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    ({ app, url } = await startApp(
      'express',
      { issuer: as.issuer, allowInsecureRequests: true, ...CLIENTS.basic, resourceMetadata: { resource: RESOURCE } },
      [],
      [
        GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          autoSchemaFile: true,
          context: ({ req, res }: { req: unknown; res: unknown }) => ({ req, res }),
        }),
      ],
      [AccountResolver],
    ));
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
  });

  const gql = async (query: string, token?: string) => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query }),
    });
    return { headers: res.headers, body: (await res.json()) as any };
  };

  it('every challenge on the HTTP response carries resource_metadata: missing token, token for another resource, missing scope', async () => {
    expect((await gql('{ whoami }')).headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${METADATA_URL}"`);
    const other = await gql('{ whoami }', await as.issueToken({ scope: 'read', resource: 'https://other.example.com' }));
    expect(other.headers.get('www-authenticate')).toMatch(new RegExp(`^Bearer error="invalid_token", .*resource_metadata="${METADATA_URL}"$`));
    const noScope = await gql('{ secret }', await as.issueToken({ scope: 'read', resource: RESOURCE }));
    expect(noScope.headers.get('www-authenticate')).toContain(`error="insufficient_scope"`);
    expect(noScope.headers.get('www-authenticate')).toContain(`resource_metadata="${METADATA_URL}"`);
    expect((await gql('{ whoami }', await as.issueToken({ scope: 'read', resource: RESOURCE }))).body.data).toEqual({ whoami: CLIENTS.app.clientId });
  });
});
