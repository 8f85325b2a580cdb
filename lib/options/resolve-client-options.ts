import type { ClientAuthMethod } from '../client/client-auth-method.js';
import type { CoreIntrospectionOptions } from './core-options.interface.js';
import { parseUrl } from './option-readers.js';
import type { ResolvedOptions } from './resolved-options.js';

const AUTH_METHODS: readonly ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'client_credentials_bearer'];

/**
 * The authorization server (`introspectionEndpoint` or `issuer`) and how we authenticate to it: validated at
 * start-up, each problem with what to change.
 */
export function resolveClientOptions(
  o: Partial<CoreIntrospectionOptions>,
  allowInsecureRequests: boolean,
  problems: string[],
): Pick<ResolvedOptions, 'introspectionEndpoint' | 'issuer' | 'clientAuthMethod' | 'privateKeyAlgorithm' | 'privateKeyId'> {
  const introspectionEndpoint = o.introspectionEndpoint
    ? parseUrl('introspectionEndpoint', o.introspectionEndpoint, allowInsecureRequests, problems)
    : undefined;
  let issuer: string | undefined;
  if (o.issuer !== undefined) {
    if (parseUrl('issuer', o.issuer, allowInsecureRequests, problems)) issuer = o.issuer;
  }
  if (!o.introspectionEndpoint && !o.issuer) {
    problems.push(
      'Neither `introspectionEndpoint` nor `issuer` is set. Set `introspectionEndpoint` to the RFC 7662 endpoint ' +
        "(e.g. 'https://auth.example.com/oauth2/introspect'), or `issuer` to let the endpoint be discovered.",
    );
  }

  if (typeof o.clientId !== 'string' || o.clientId.length === 0) {
    problems.push('`clientId` is missing: set it to the client id this API uses at the authorization server.');
  }
  const clientAuthMethod = o.clientAuthMethod ?? 'client_secret_basic';
  if (!AUTH_METHODS.includes(clientAuthMethod)) {
    problems.push(`\`clientAuthMethod\` '${String(clientAuthMethod)}' is unknown: use one of ${AUTH_METHODS.join(', ')}.`);
  } else if (clientAuthMethod === 'client_credentials_bearer') {
    if (!o.privateKey && (typeof o.clientSecret !== 'string' || o.clientSecret.length === 0)) {
      problems.push("`clientAuthMethod: 'client_credentials_bearer'` needs `clientSecret` (or `privateKey`) to obtain the API's own access token.");
    }
    if (!o.tokenEndpoint && !o.issuer) {
      problems.push("`clientAuthMethod: 'client_credentials_bearer'` needs the token endpoint: set `tokenEndpoint`, or `issuer` to discover it.");
    }
    if (o.tokenEndpoint !== undefined) parseUrl('tokenEndpoint', o.tokenEndpoint, allowInsecureRequests, problems);
  } else if (clientAuthMethod === 'private_key_jwt') {
    if (!o.privateKey) {
      problems.push("`clientAuthMethod: 'private_key_jwt'` needs `privateKey` (a private JWK, a PKCS#8 PEM string or a KeyObject).");
    }
  } else if (typeof o.clientSecret !== 'string' || o.clientSecret.length === 0) {
    problems.push(
      `\`clientAuthMethod: '${clientAuthMethod}'\` needs \`clientSecret\`: set it (e.g. from an environment variable), ` +
        "or use `clientAuthMethod: 'private_key_jwt'` with `privateKey`.",
    );
  }
  const jwk = typeof o.privateKey === 'object' && o.privateKey !== null && 'kty' in o.privateKey ? o.privateKey : undefined;
  return {
    introspectionEndpoint,
    issuer,
    clientAuthMethod,
    privateKeyAlgorithm: o.privateKeyAlgorithm ?? jwk?.alg ?? 'RS256',
    privateKeyId: o.privateKeyId ?? jwk?.kid,
  };
}

/** How `client_secret_basic` encodes the id and secret (RFC 6749 §2.3.1, or raw for servers that do not form-decode). */
export function resolveClientSecretBasicEncoding(o: Partial<CoreIntrospectionOptions>, problems: string[]): ResolvedOptions['clientSecretBasicEncoding'] {
  const clientSecretBasicEncoding = o.clientSecretBasicEncoding ?? 'form-urlencoded';
  if (clientSecretBasicEncoding !== 'form-urlencoded' && clientSecretBasicEncoding !== 'raw') {
    problems.push("`clientSecretBasicEncoding` must be 'form-urlencoded' (RFC 6749 §2.3.1, the default) or 'raw'.");
  }
  return clientSecretBasicEncoding;
}
