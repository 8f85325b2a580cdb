import type { KeyObject, webcrypto } from 'node:crypto';
import type { JWK } from 'jose';

/**
 * One backend this API calls with an access token of its own, obtained with the client-credentials
 * grant (RFC 6749 §4.4). Client authentication works as for introspection.
 */
export interface OutboundBackendOptions {
  /** The token endpoint (absolute URL; http:// only with the module's `allowInsecureRequests`). */
  tokenEndpoint: string;
  /** Our client id at that authorization server. */
  clientId: string;
  /** For `client_secret_basic` / `client_secret_post`. */
  clientSecret?: string;
  /** Default: `private_key_jwt` when `privateKey` is set, else `client_secret_basic`. */
  clientAuthMethod?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  /** For `private_key_jwt`: PKCS#8 PEM, a private JWK, a KeyObject or a CryptoKey. */
  privateKey?: JWK | string | KeyObject | webcrypto.CryptoKey;
  /** For `private_key_jwt`. Default: the JWK's `alg`, else RS256. */
  privateKeyAlgorithm?: string;
  /** For `private_key_jwt`: `kid` of the assertion. Default: the JWK's `kid`. */
  privateKeyId?: string;
  /** `aud` of the `private_key_jwt` assertion. Default: the token endpoint's origin. */
  assertionAudience?: string;
  /** `scope` to request (space-separated). Default: none. */
  scope?: string;
  /** RFC 8707 `resource` indicator(s) to request (absolute URIs). Default: none. */
  resource?: string | string[];
  /**
   * The origins (scheme, host, port — e.g. `'https://orders.example.com'`) the token may be sent to. A request to
   * any other URL goes out without it. Default for `attachOutboundToken()`: the origin of the axios instance's
   * `baseURL` (an instance without `baseURL` is refused); `OutboundTokenService.fetch()` needs it set.
   */
  origins?: string | string[];
  /**
   * Also treat a 403 whose `WWW-Authenticate` says `error="invalid_token"` as "our token is no longer
   * accepted" (some gateways answer 403 where RFC 6750 says 401). Default: false.
   */
  retryOn403InvalidToken?: boolean;
  /**
   * Retry a refused request once with a new token also when its method is not idempotent (POST,
   * PATCH). A backend that answered 401 did not process the request, but a proxy in between may
   * have. Default: false — only GET, HEAD, OPTIONS, PUT and DELETE are retried.
   */
  retryNonIdempotent?: boolean;
}

/** The outbound-token capability's slice of `IntrospectionModuleOptions`. */
export interface OutboundModuleOptions {
  /**
   * Backends this API calls with an access token of its own (client-credentials grant), by name:
   * `OutboundTokenService.fetch(name, url)` / `getToken(name)`. Default: none.
   */
  outbound?: Record<string, OutboundBackendOptions>;
}
