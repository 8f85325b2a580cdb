import type { JSONWebKeySet } from 'jose';

/**
 * Which replicas an eviction pushed to a receiver reaches (as for the revocation webhook). `'all-replicas'`
 * (the default) needs `cache.redis`: evictions are broadcast and the `sub` / `sid` / `jti` index is shared.
 * `'this-replica'` is for a single instance with the in-memory cache. Any other combination is refused at start-up.
 */
export type PushReceiverScope = 'all-replicas' | 'this-replica';

/** Module extra `securityEventReceiver`: where the OpenID Shared Signals (RFC 8935 push) receiver listens. */
export interface SecurityEventReceiverRoute {
  /** Route of the receiver, e.g. `'ssf/events'` (the stream's `endpoint_url` at the transmitter). */
  path: string;
  /** See `PushReceiverScope`. Default `'all-replicas'`. */
  scope?: PushReceiverScope;
}

/** Module extra `backchannelLogoutReceiver`: where the OpenID Connect Back-Channel Logout receiver listens. */
export interface BackchannelLogoutReceiverRoute {
  /** Route of the receiver, e.g. `'oidc/backchannel-logout'` (the client's `backchannel_logout_uri`). */
  path: string;
  /** See `PushReceiverScope`. Default `'all-replicas'`. */
  scope?: PushReceiverScope;
}

/**
 * The OpenID Shared Signals transmitter whose Security Event Tokens (RFC 8417) the receiver accepts
 * (module option `securityEvents`, used with the module extra `securityEventReceiver`). Durations in seconds.
 */
export interface SecurityEventsOptions {
  /** The transmitter's `iss`, exactly. Required. */
  issuer: string;
  /** The `aud` the transmitter puts in SETs of this stream (one must match). Required. */
  audience: string | string[];
  /** The transmitter's JWK Set URL (its `jwks_uri`). Give this or `jwks`. */
  jwksUri?: string;
  /** The transmitter's public keys, inline. Give this or `jwksUri`. */
  jwks?: JSONWebKeySet;
  /** JWS algorithms accepted; `none` and HMAC are refused at start-up. Default `['RS256', 'PS256', 'ES256', 'EdDSA']`. */
  algorithms?: string[];
  /** A SET's `iat` must be at most this old (plus `clockSkewSeconds`), and not in the future. Default 300 s. */
  maxAgeSeconds?: number;
  /** Largest request body accepted, bytes; larger is 400 `invalid_request`. Default 16,384 B. */
  maxBodyBytes?: number;
  /**
   * The issuer whose subjects (`iss_sub` / `jwt_id` subject identifiers, RFC 9493) name the subjects of the tokens
   * this API accepts; subjects of another issuer are acknowledged (202) and ignored. Default: `expectedIssuer`,
   * else `issuer` (the authorization server's); without either, any issuer's subjects are used.
   */
  subjectIssuer?: string;
  /** How long a fetched key set (`jwksUri`) is used before it is fetched again. Default 300 s. */
  keysCacheSeconds?: number;
  /** A `kid` not in the key set refreshes it, at most once per this many seconds (values below 1 s count as 1 s: anyone can send unknown `kid`s). Default 30 s. */
  keysRefreshIntervalSeconds?: number;
}

/**
 * OpenID Connect Back-Channel Logout 1.0 logout tokens (module option `backchannelLogout`, used with the
 * module extra `backchannelLogoutReceiver`). Durations in seconds.
 */
export interface BackchannelLogoutOptions {
  /** The OpenID Provider's `iss`. Default: `jwt.issuer`, else `expectedIssuer`, else `issuer`. */
  issuer?: string;
  /** The client id(s) logout tokens are addressed to (`aud`). Default: `clientId`. */
  audience?: string | string[];
  /** The OpenID Provider's JWK Set. Default: `jwt.jwksUri`, else `jwks_uri` discovered from `issuer`. */
  jwksUri?: string;
  /** JWS algorithms accepted; `none` and HMAC are refused at start-up. Default `['RS256', 'PS256', 'ES256', 'EdDSA']`. */
  algorithms?: string[];
  /** A logout token's `iat` must be at most this old (plus `clockSkewSeconds`), and not in the future. Default 300 s. */
  maxAgeSeconds?: number;
  /** Longest `logout_token` accepted, characters; longer is 400 `invalid_request`. Default 16,384. */
  maxTokenLength?: number;
}

/** The push capability's slice of `IntrospectionModuleOptions`: the revocation webhook and the push receivers. */
export interface PushModuleOptions {
  /**
   * Secret that callers of the revocation webhook (module extra `revocationWebhook: { path }`) send as
   * `Authorization: Bearer <secret>`. At least 16 characters. Never logged.
   */
  revocationWebhookSecret?: string;
  /**
   * The OpenID Shared Signals transmitter (RFC 8935 push of CAEP events) whose SETs the receiver at the
   * module extra `securityEventReceiver: { path }` verifies. Default: none (the receiver refuses to start without it).
   */
  securityEvents?: SecurityEventsOptions;
  /**
   * OpenID Connect Back-Channel Logout 1.0 logout tokens, received at the module extra
   * `backchannelLogoutReceiver: { path }`. `{}` takes every default. Default: none.
   */
  backchannelLogout?: BackchannelLogoutOptions;
}
