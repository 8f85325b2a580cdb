/**
 * How JWT-shaped bearer tokens (three base64url segments with a JOSE header) are handled.
 * Opaque tokens are always introspected.
 * - `'introspect'`: sent to the introspection endpoint like opaque tokens (the default without `jwt`).
 * - `'local'`: validated locally per RFC 9068 §4 with the authorization server's keys (the default with `jwt`).
 * - `'local-then-introspect'`: validated locally, then introspected for their claims (Keycloak "lightweight"
 *   access tokens, which carry no claims). The introspection answer is cached like an opaque token's.
 * - `'refuse'`: 401 `invalid_token` without calling anyone.
 */
export type JwtMode = 'introspect' | 'local' | 'local-then-introspect' | 'refuse';

/** JWT access tokens (RFC 9068). Durations in seconds. */
export interface JwtAccessTokenOptions {
  /** See `JwtMode`. Default `'local'`. */
  mode?: JwtMode;
  /**
   * JWS algorithms accepted, from configuration only (never from the token or the metadata).
   * `none` and HMAC (`HS*`) are refused at start-up. Default `['RS256', 'PS256', 'ES256', 'EdDSA']`.
   */
  algorithms?: string[];
  /** The authorization server's JWK Set. Default: `jwks_uri` from discovery (`issuer`). */
  jwksUri?: string;
  /** The exact `iss` required. Default: `expectedIssuer`, else `issuer`. */
  issuer?: string;
  /**
   * Require the `typ` header `at+jwt` (RFC 9068 §2.1; `application/at+jwt` too). An ID token (`typ: JWT`) is
   * then refused as `not_access_token`. Set false only for servers that omit `typ`. Default true.
   */
  requireTyp?: boolean;
  /** How long a fetched key set is used before it is fetched again, seconds. Default 300 s. */
  keysCacheSeconds?: number;
  /**
   * When the key endpoint cannot answer, keys older than `keysCacheSeconds` are still used for at most this
   * many more seconds; after that, JWTs get 503 + Retry-After (never 401). Default 3,600 s; 0 disables.
   */
  keysStaleIfErrorSeconds?: number;
  /**
   * A JWT whose `kid` is not in the key set triggers a key refresh (key rotation at the AS), at most once per
   * this many seconds, so unknown `kid`s sent by anyone cannot hammer the key endpoint. Default 30 s.
   */
  keysRefreshIntervalSeconds?: number;
  /**
   * Locally verified JWTs are remembered in process for min(this, exp − now), seconds, so a repeated token
   * costs a hash instead of a signature verification. 0 verifies every request. Default 60 s.
   */
  verificationCacheSeconds?: number;
  /**
   * The longest lifetime of the AS's JWT access tokens, seconds: how long `evictBySubject()` / `evictByClientId()`
   * (and the webhook by `sub` / `client_id`) keep refusing JWTs issued before the eviction. Default 86,400 s (1 day).
   */
  maxTokenLifetimeSeconds?: number;
}

/** RFC 9701 signed introspection responses (`Accept: application/token-introspection+jwt`). */
export interface SignedIntrospectionOptions {
  /**
   * `'require'`: a plain JSON answer is an authorization-server error (503), never a pass.
   * `'prefer'`: ask for a signed answer; verify it when the Content-Type says it is one, accept JSON otherwise.
   */
  mode: 'require' | 'prefer';
  /** JWS algorithms accepted for the response. Default: `jwt.algorithms`, else `['RS256', 'PS256', 'ES256', 'EdDSA']`. */
  algorithms?: string[];
  /** The response's `iat` must be at most this old, seconds (clock skew added). Default 60 s. */
  maxAgeSeconds?: number;
}

/** The JWT capability's slice of `IntrospectionModuleOptions`. */
export interface JwtModuleOptions {
  /**
   * JWT access tokens (RFC 9068): validated locally with the authorization server's keys, introspected, or refused.
   * Without this option they are introspected like opaque tokens. Local validation needs `audience` and an issuer.
   */
  jwt?: JwtAccessTokenOptions;
  /** Ask for signed introspection responses (RFC 9701) and verify them with the authorization server's keys. Default: off. */
  signedIntrospection?: SignedIntrospectionOptions;
}
