import { SignJWT, type CryptoKey } from 'jose';

/**
 * For the JWT suites against a fake authorization server (a FaultyServer answering introspection and `/jwks`):
 * the options that point the module at it (client 'api', plain HTTP), for tokens of `issuer` and `audience`.
 * Spread first, then the suite's `jwt` options.
 */
export function fakeIssuerOptions(introspectionEndpoint: string, issuer: string, audience: string) {
  return { introspectionEndpoint, expectedIssuer: issuer, clientId: 'api', clientSecret: 's', allowInsecureRequests: true, audience };
}

/** An RS256 `at+jwt` (kid 'k1') for client 'app', user 'alice', scope 'read', issued now, valid 5 minutes. */
export function signAliceJwt(privateKey: CryptoKey, issuer: string, audience: string): Promise<string> {
  return new SignJWT({ scope: 'read', client_id: 'app', sub: 'alice' })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' })
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(privateKey);
}
