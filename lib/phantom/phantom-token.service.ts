import type { OnModuleInit } from '@nestjs/common';
import type { ModulesContainer } from '@nestjs/core';
import type { JWK } from 'jose';
import { InvalidTokenError } from '../errors/introspection.errors.js';
import { acceptedTokens } from '../guard/execution-context.js';
import type { ActiveIntrospectionResult, IntrospectOptions } from '../interfaces/introspection-result.interface.js';
import type { IntrospectionService } from '../introspection.service.js';
import { PhantomKeyRing } from './phantom-keys.js';
import type { PhantomSigningKey, PhantomTokenOptions } from './phantom-options.interface.js';
import { checkPhantomRoutes } from './phantom-route-check.js';
import { resolvePhantomSettings, type PhantomSettings } from './phantom-settings.js';
import { signPhantomToken, type Minted } from './phantom-signing.js';

export type { PhantomAudienceUse } from './phantom-route-check.js';

/** Why a phantom token could not be minted (a programming or configuration problem, not the client's). */
export class PhantomTokenError extends Error {
  constructor(
    readonly code: 'no_validated_token' | 'unknown_audience' | 'disabled',
    message: string,
  ) {
    super(message);
    this.name = 'PhantomTokenError';
  }
}

/**
 * Mints phantom tokens (`phantom` option) and publishes their keys. Each mint re-checks the source
 * token through `IntrospectionService.introspect()` — on a cache hit that is a map lookup — so an
 * eviction or an inactive answer stops minting at once. Minted tokens are cached per (cache entry of
 * the source token, audience): a new entry (after an eviction, a re-validation, a purge) is a new
 * object, so a phantom token never outlives the entry it was minted from.
 */
export class PhantomTokenService implements OnModuleInit {
  /** The options checked, with their defaults (lifetime, rotation overlap, audiences, copied claims). */
  private readonly settings: PhantomSettings;
  private readonly keys: PhantomKeyRing;
  private ready?: Promise<void>;
  private minted = new WeakMap<object, Map<string, Minted>>();

  constructor(
    private readonly options: PhantomTokenOptions | undefined,
    private readonly introspection: IntrospectionService,
    /** The application's modules: their routes' `@PhantomToken()` audiences are checked at start-up. */
    private readonly modules?: ModulesContainer,
  ) {
    this.settings = resolvePhantomSettings(options, modules);
    this.keys = new PhantomKeyRing(this.settings.overlapMs);
  }

  async onModuleInit(): Promise<void> {
    if (this.modules) {
      checkPhantomRoutes(this.modules, (s) => (s instanceof PhantomTokenService && s.options ? s.settings.audiences : undefined));
    }
    if (!this.options) return;
    // Key problems surface at start-up, not on the first request.
    this.ready = this.keys.load(this.options.keys, this.modules);
    await this.ready;
  }

  /**
   * A phantom token for the request `TokenGuard` accepted, for `audience` (default: the first of
   * `phantom.audiences`). Rejects with `InvalidTokenError` when the source token is no longer
   * accepted (evicted and refused since), `AuthorizationServerUnavailableError` when that cannot be
   * known, `PhantomTokenError` for a request without a validated token or an unknown audience.
   */
  forRequest(request: object, audience?: string): Promise<string> {
    const presented = acceptedTokens.get(request);
    if (!presented) {
      return Promise.reject(
        new PhantomTokenError('no_validated_token', 'No token was validated for this request (a @Public() route, or fail-open during an outage).'),
      );
    }
    return this.mint(presented.token, audience, { presentation: presented.presentation });
  }

  /** A phantom token for `token` (validated here through `introspect(token, options)`), for transports other than HTTP. */
  async mint(token: string, audience?: string, options?: IntrospectOptions): Promise<string> {
    if (!this.options) throw new PhantomTokenError('disabled', 'Phantom tokens are off: set the `phantom` option of IntrospectionModule.');
    const aud = audience ?? this.options.audiences[0];
    if (!this.settings.audiences.has(aud)) {
      throw new PhantomTokenError('unknown_audience', `'${aud}' is not one of \`phantom.audiences\`: add it there to mint tokens for it.`);
    }
    const result = await this.introspection.introspect(token, options);
    if (!result.active) throw new InvalidTokenError(result.reason);
    const now = Date.now();
    let perAudience = result.stale ? undefined : this.minted.get(result);
    const hit = perAudience?.get(aud);
    if (hit && now < hit.renewAt) return hit.jwt;
    const minted = await this.sign(result, aud, now);
    if (!result.stale) {
      if (!perAudience) this.minted.set(result, (perAudience = new Map<string, Minted>()));
      perAudience.set(aud, minted);
    }
    return minted.jwt;
  }

  /**
   * Starts signing with `key` (default: a new ES256 key); the previous signing key stays in the JWKS for
   * `rotationOverlapSeconds`, so tokens it signed keep validating until they expire. Tokens minted from now
   * on use the new key. Resolves to the new `kid`.
   */
  async rotateKey(key?: PhantomSigningKey): Promise<string> {
    await this.ready;
    const kid = await this.keys.rotate(key);
    this.minted = new WeakMap();
    return kid;
  }

  /** The public keys as a JWK Set (RFC 7517 §5): the signing key and those still within their overlap. */
  jwks(): { keys: JWK[] } {
    return this.keys.jwks();
  }

  private async sign(result: ActiveIntrospectionResult, aud: string, now: number): Promise<Minted> {
    await this.ready;
    const { lifetimeSeconds, claims } = this.settings;
    return signPhantomToken(this.keys, { issuer: this.options!.issuer, lifetimeSeconds, claims }, result, aud, now);
  }
}
