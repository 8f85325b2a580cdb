/** DPoP (RFC 9449) at the resource server. */
export interface DpopOptions {
  /** Refuse bearer tokens on every route: only DPoP-bound tokens with a proof pass. Per route: `@RequireDpop()`. Default false. */
  required?: boolean;
  /** Asymmetric JWS algorithms accepted for proofs (sent in `WWW-Authenticate: DPoP algs="…"`). Default ES256, ES384, PS256, RS256, EdDSA, Ed25519. */
  algorithms?: string[];
  /** How old a proof (`iat`) may be, seconds; also how long its `jti` is remembered for the replay check. Default 60 s. */
  maxAgeSeconds?: number;
  /** Leeway for the proof's `iat` in either direction, seconds. Default 5 s. */
  clockSkewSeconds?: number;
  /** Longest `DPoP` header accepted, characters. Default 8,192. */
  maxProofLength?: number;
  /**
   * Proof identifiers remembered in process for the replay check (the oldest go first when full). With
   * `cache.redis` every jti is also recorded in Redis (SET NX), so a proof is accepted once across replicas.
   * Size it to (proofs per second per replica) × (maxAgeSeconds + 2 × clockSkewSeconds). Default 100,000.
   */
  replayCacheSize?: number;
  /**
   * Server nonces (RFC 9449 §9): proofs must carry a nonce this API issued (`DPoP-Nonce` header; a proof
   * without it gets 401 `use_dpop_nonce`). `secret`: at least 32 characters, the same on every replica
   * (default: random per process — a client then needs one nonce per replica). `lifetimeSeconds`: how long
   * a nonce is current; it stays accepted one more lifetime. Default 300 s. Default: off.
   */
  nonce?: boolean | { secret?: string; lifetimeSeconds?: number };
  /**
   * The origin clients address (`https://api.example.com`), used for the proof's `htu` when a proxy
   * changes scheme, host or port. Default: taken from the request (its Host header and TLS socket).
   */
  externalOrigin?: string;
  /**
   * Take `htu`'s scheme and host from `X-Forwarded-Proto` / `X-Forwarded-Host` (first value). Only behind
   * a proxy that overwrites them: a client that reaches the app directly controls these headers. Default false.
   */
  trustForwardedHeaders?: boolean;
}

/** Certificate-bound access tokens (RFC 8705 §3). */
export interface MtlsOptions {
  /**
   * Read the client certificate from this request header, set by a TLS-terminating proxy (PEM, URL-encoded
   * PEM as nginx's `$ssl_client_escaped_cert`, or base64 DER). This TRUSTS THE PROXY: anyone who can reach
   * the app without passing through it can forge the header. Default: unset — the certificate comes only
   * from the TLS connection (HTTPS server with `requestCert`), and the header is ignored.
   */
  certificateHeader?: string;
}

/** The DPoP / mTLS capability's slice of `IntrospectionModuleOptions` (sender-constrained tokens). */
export interface DpopModuleOptions {
  /**
   * DPoP-bound access tokens (RFC 9449): `Authorization: DPoP <token>` with a `DPoP` proof header.
   * Default: accepted beside Bearer (not required), no server nonces. `false`: the DPoP scheme is not accepted.
   */
  dpop?: false | DpopOptions;
  /** Certificate-bound access tokens (RFC 8705 §3): where the client certificate comes from. */
  mtls?: MtlsOptions;
}
