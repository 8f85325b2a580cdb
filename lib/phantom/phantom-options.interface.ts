import type { KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

/** A key that signs phantom tokens (or, after a rotation, is still published). */
export interface PhantomSigningKey {
  /** The private key: PKCS#8 PEM, a private JWK, or a KeyObject. EC (P-256/P-384), RSA (≥ 2048 bits) or Ed25519. */
  privateKey: string | JWK | KeyObject;
  /** `kid` in the token header and the JWKS. Default: the public key's RFC 7638 thumbprint. */
  kid?: string;
  /** JWS algorithm. Default: ES256 / ES384 by curve, RS256 for RSA, EdDSA for Ed25519. */
  alg?: string;
}

/**
 * Phantom tokens: short-lived JWTs shaped like RFC 9068 access tokens, minted from the validated
 * result of the current request for an internal service that validates them locally (this module in
 * `jwt: { mode: 'local', jwksUri: <the edge's JWKS> }`). Durations in seconds.
 */
export interface PhantomTokenOptions {
  /** `iss` of every phantom token: this API's identifier (an absolute URI), what downstream services expect. */
  issuer: string;
  /** The downstream audiences tokens may be minted for (`aud`); the first is the default. */
  audiences: string[];
  /** Lifetime, seconds; never past the source token's `exp`. Default 60, at most 3,600. */
  lifetimeSeconds?: number;
  /**
   * Claims of the introspection result copied into the token besides `sub`, `client_id`, `scope`
   * (e.g. `['username', 'acr']`; never `cnf`: the binding of a sender-constrained source token ends at the edge). Default none: internal services see no more than they need.
   */
  claims?: string[];
  /**
   * Signing keys: the first signs; the others are only published (keys being retired). Default: an
   * ES256 key generated at start-up, with a warning — fine for development, but each replica then has
   * its own key and a restart invalidates every phantom token in flight.
   */
  keys?: PhantomSigningKey[];
  /**
   * After `rotateKey()`, how long the previous key stays published, seconds. Default: `lifetimeSeconds`
   * + 60 (every token it signed has expired, with room for downstream clocks).
   */
  rotationOverlapSeconds?: number;
}

/** The phantom-token capability's slice of `IntrospectionModuleOptions`. */
export interface PhantomModuleOptions {
  /**
   * Phantom tokens: short-lived JWTs minted from each accepted token for internal services
   * (`@PhantomToken()`, `PhantomTokenService`); publish their keys with the module extra `phantomJwksPath`.
   * Default: off.
   */
  phantom?: PhantomTokenOptions;
}
