import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, type KeyObject, type JsonWebKey } from 'node:crypto';
import type { OnModuleInit } from '@nestjs/common';
import type { ModulesContainer } from '@nestjs/core';
import type { JWK } from 'jose';
import { IntrospectionConfigurationError, InvalidTokenError } from '../errors/introspection.errors.js';
import { acceptedTokens } from '../guard/execution-context.js';
import type { ActiveIntrospectionResult, IntrospectOptions } from '../interfaces/introspection-result.interface.js';
import { PHANTOM_AUDIENCES_KEY } from '../introspection.constants.js';
import type { IntrospectionService } from '../introspection.service.js';
import { loadJose } from '../utils/jose.js';
import { warnOnce } from '../utils/startup-warnings.js';
import type { PhantomSigningKey, PhantomTokenOptions } from './phantom-options.interface.js';

/** Claims a phantom token always sets itself; never copied from the introspection result. */
// `cnf` too: a phantom token is a bearer token inside your network; a copied binding would make it unusable.
const RESERVED = new Set(['iss', 'aud', 'sub', 'client_id', 'scope', 'jti', 'iat', 'exp', 'nbf', 'active', 'scopes', 'stale', 'token_type', 'cnf']);

interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: KeyObject;
  readonly publicJwk: JWK;
  /** Published until (epoch ms); undefined while it signs or is configured. */
  retireAt?: number;
}

interface Minted {
  readonly jwt: string;
  /** Mint a new one from here on (epoch ms): a cached token is handed out only while most of its life is left. */
  readonly renewAt: number;
}

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
/** Internal: what the start-up check reads per `@PhantomToken()` — the audience, `null` for the default, or an explicit `undefined`. */
export type PhantomAudienceUse = string | null | { readonly explicitUndefined: true };

export class PhantomTokenService implements OnModuleInit {
  private readonly lifetimeSeconds: number;
  private readonly overlapMs: number;
  private readonly audiences: ReadonlySet<string>;
  private readonly claims: readonly string[];
  private keys: SigningKey[] = [];
  private ready?: Promise<void>;
  private minted = new WeakMap<object, Map<string, Minted>>();

  constructor(
    private readonly options: PhantomTokenOptions | undefined,
    private readonly introspection: IntrospectionService,
    /** The application's modules: their routes' `@PhantomToken()` audiences are checked at start-up. */
    private readonly modules?: ModulesContainer,
  ) {
    if (!options) {
      this.lifetimeSeconds = 0;
      this.overlapMs = 0;
      this.audiences = new Set();
      this.claims = [];
      return;
    }
    const problems: string[] = [];
    if (typeof options.issuer !== 'string' || !URL.canParse(options.issuer)) {
      problems.push("`phantom.issuer` must be this API's identifier as an absolute URI, e.g. 'https://api.example.com'.");
    }
    if (!Array.isArray(options.audiences) || options.audiences.length === 0 || options.audiences.some((a) => typeof a !== 'string' || !a)) {
      problems.push("`phantom.audiences` must list the downstream services' identifiers, e.g. ['https://orders.internal'].");
    }
    const lifetime = options.lifetimeSeconds ?? 60;
    if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > 3600) {
      problems.push('`phantom.lifetimeSeconds` must be a whole number of seconds from 1 to 3600 (phantom tokens are short-lived).');
    }
    const overlap = options.rotationOverlapSeconds ?? lifetime + 60;
    if (!(overlap >= 0)) problems.push('`phantom.rotationOverlapSeconds` must be ≥ 0.');
    for (const c of options.claims ?? []) {
      if (RESERVED.has(c)) problems.push(`\`phantom.claims\` lists '${c}', which the phantom token sets itself: remove it.`);
    }
    if (problems.length) {
      throw new IntrospectionConfigurationError(`Invalid \`phantom\` options:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    }
    if (overlap < lifetime) {
      warnOnce(this.modules, 'PhantomTokens',
        `phantom.rotationOverlapSeconds (${overlap} s) is shorter than phantom.lifetimeSeconds (${lifetime} s): after rotateKey(), ` +
          'tokens signed with the previous key shortly before the rotation are refused downstream before they expire. ' +
          `Set rotationOverlapSeconds to at least ${lifetime} (default: lifetimeSeconds + 60, room for downstream clocks).`,
      );
    }
    this.lifetimeSeconds = lifetime;
    this.overlapMs = overlap * 1000;
    this.audiences = new Set(options.audiences);
    this.claims = options.claims ?? [];
  }

  async onModuleInit(): Promise<void> {
    this.checkRoutes();
    if (!this.options) return;
    // Key problems surface at start-up, not on the first request.
    this.ready = this.loadKeys();
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
    const aud = audience ?? this.options.audiences[0]!;
    if (!this.audiences.has(aud)) {
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
      if (!perAudience) this.minted.set(result, (perAudience = new Map()));
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
    const next = await toSigningKey(key ?? generatedKey());
    const now = Date.now();
    for (const k of this.keys) k.retireAt ??= now + this.overlapMs;
    this.keys = [next, ...this.keys];
    this.minted = new WeakMap();
    return next.kid;
  }

  /** The public keys as a JWK Set (RFC 7517 §5): the signing key and those still within their overlap. */
  jwks(): { keys: JWK[] } {
    const now = Date.now();
    this.keys = this.keys.filter((k, i) => i === 0 || k.retireAt === undefined || now < k.retireAt);
    return { keys: this.keys.map((k) => k.publicJwk) };
  }

  /**
   * Start-up check of every controller route and provider method (GraphQL resolvers), inherited ones included:
   * `@PhantomToken(undefined)` fails, an audience given to `@PhantomToken(aud)` must be in
   * `phantom.audiences`, and `@PhantomToken()` needs the `phantom` option — otherwise each call of that
   * route would fail. With several modules in one application, any one's audiences will do.
   */
  private checkRoutes(): void {
    if (!this.modules) return;
    const allowed = new Set<string>();
    let enabled = false;
    const uses: Array<{ where: string; audience: PhantomAudienceUse }> = [];
    const scanned = new Set<unknown>();
    for (const module of this.modules.values()) {
      for (const wrapper of module.providers.values()) {
        const service = wrapper.instance as unknown;
        if (service instanceof PhantomTokenService && service.options) {
          enabled = true;
          for (const a of service.audiences) allowed.add(a);
        }
      }
      // Controllers, and providers too: GraphQL resolvers (and other handlers Nest calls with parameter decorators) are providers.
      for (const wrapper of [...module.controllers.values(), ...module.providers.values()]) {
        for (const candidate of [wrapper.metatype, (wrapper.instance as object | undefined)?.constructor]) {
          if (typeof candidate !== 'function' || !candidate.prototype || candidate === Object || scanned.has(candidate)) continue;
          scanned.add(candidate);
          for (const name of methodNames(candidate.prototype as object)) {
            const declared = Reflect.getMetadata?.(PHANTOM_AUDIENCES_KEY, candidate, name) as PhantomAudienceUse[] | undefined;
            for (const audience of declared ?? []) uses.push({ where: `${candidate.name}.${name}`, audience });
          }
        }
      }
    }
    if (!uses.length) return;
    if (!enabled) {
      throw new IntrospectionConfigurationError(
        `@PhantomToken() is used (${[...new Set(uses.map((u) => u.where))].join(', ')}) but phantom tokens are off: set the \`phantom\` ` +
          'option of IntrospectionModule (issuer, audiences), or remove the decorator.',
      );
    }
    const isUndefinedUse = (a: PhantomAudienceUse) => typeof a === 'object' && a !== null && a.explicitUndefined === true;
    const undefinedUses = uses.filter((u) => isUndefinedUse(u.audience));
    if (undefinedUses.length) {
      throw new IntrospectionConfigurationError(
        `@PhantomToken(undefined) (${[...new Set(undefinedUses.map((u) => u.where))].join(', ')}): the audience passed is undefined — an unset ` +
          "variable or configuration value? Pass one of `phantom.audiences`, or write `@PhantomToken()` for the first of them.",
      );
    }
    const unknown = uses.filter((u) => u.audience !== null && !isUndefinedUse(u.audience) && !allowed.has(u.audience as string));
    if (unknown.length) {
      throw new IntrospectionConfigurationError(
        `@PhantomToken() names audiences that are not in \`phantom.audiences\`:\n${unknown
          .map((u) => `  - ${u.where}: '${u.audience}' — add it to \`phantom.audiences\` (now ${[...allowed].map((a) => `'${a}'`).join(', ')}), or fix the decorator's argument.`)
          .join('\n')}`,
      );
    }
  }

  private async loadKeys(): Promise<void> {
    const configured = this.options!.keys;
    if (!configured?.length) {
      warnOnce(this.modules, 'PhantomTokens',
        'phantom.keys is not set: signing phantom tokens with a key generated at start-up. Fine for development; in production ' +
          'configure `phantom.keys`, or each replica signs with its own key and a restart invalidates every phantom token in flight.',
      );
    }
    try {
      this.keys = await Promise.all((configured?.length ? configured : [generatedKey()]).map(toSigningKey));
    } catch (cause) {
      throw new IntrospectionConfigurationError(
        `\`phantom.keys\`: a key cannot be used (${(cause as Error).message}). Give a private key as PKCS#8 PEM, a private JWK or a KeyObject (EC P-256/P-384, RSA, Ed25519).`,
      );
    }
  }

  private async sign(result: ActiveIntrospectionResult, aud: string, now: number): Promise<Minted> {
    await this.ready;
    const { SignJWT } = await loadJose();
    const key = this.keys[0]!;
    const nowSeconds = Math.floor(now / 1000);
    const exp = Math.min(nowSeconds + this.lifetimeSeconds, typeof result.exp === 'number' ? result.exp : Infinity);
    // RFC 9068 §2.2: sub and client_id are required; without a subject there is no identity to pass on.
    const subject = typeof result.sub === 'string' ? result.sub : typeof result.client_id === 'string' ? result.client_id : undefined;
    if (subject === undefined) throw new InvalidTokenError('inactive', 'The access token names neither a subject nor a client: there is no identity to pass on.');
    const claims: Record<string, unknown> = { client_id: result.client_id };
    if (result.scope !== undefined) claims.scope = result.scope;
    for (const name of this.claims) if (result[name] !== undefined) claims[name] = result[name];
    const jwt = await new SignJWT(claims)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
      .setIssuer(this.options!.issuer)
      .setAudience(aud)
      // RFC 9068 §2.2: a client acting for itself has its client id as subject.
      .setSubject(subject)
      .setJti(randomUUID())
      .setIssuedAt(nowSeconds)
      .setExpirationTime(exp)
      .sign(key.privateKey);
    // Handed out from the cache only while at least half of its lifetime is left.
    return { jwt, renewAt: now + ((exp - nowSeconds) * 1000) / 2 };
  }
}

function generatedKey(): PhantomSigningKey {
  return { privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey };
}

async function toSigningKey(key: PhantomSigningKey): Promise<SigningKey> {
  const { calculateJwkThumbprint } = await loadJose();
  const source = key.privateKey;
  const privateKey =
    typeof source === 'string'
      ? createPrivateKey(source)
      : 'kty' in source
        ? createPrivateKey({ key: source as JsonWebKey, format: 'jwk' })
        : (source as KeyObject);
  if (privateKey.type !== 'private') throw new Error('not a private key');
  const alg = key.alg ?? defaultAlgorithm(privateKey);
  const { kty, crv, x, y, n, e } = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  const publicJwk: JWK = Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined));
  const kid = key.kid ?? (await calculateJwkThumbprint(publicJwk));
  // A test signature now: an `alg` that does not fit the key fails start-up, not every request.
  const { SignJWT } = await loadJose();
  await new SignJWT({}).setProtectedHeader({ alg }).sign(privateKey).catch((error: Error) => {
    throw new Error(`alg '${alg}' does not fit this key (${error.message})`);
  });
  return { kid, alg, privateKey, publicJwk: { ...publicJwk, kid, alg, use: 'sig' } };
}

function defaultAlgorithm(key: KeyObject): string {
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'ec':
      if (details?.namedCurve === 'prime256v1') return 'ES256';
      if (details?.namedCurve === 'secp384r1') return 'ES384';
      throw new Error(`unsupported curve ${details?.namedCurve}`);
    case 'rsa':
      if ((details?.modulusLength ?? 0) < 2048) throw new Error('RSA keys need at least 2048 bits');
      return 'RS256';
    case 'ed25519':
      return 'EdDSA';
    default:
      throw new Error(`unsupported key type ${key.asymmetricKeyType}`);
  }
}

/** Method names of a prototype and of the classes it extends (an inherited route is a route of the subclass). */
function methodNames(prototype: object): string[] {
  const names = new Set<string>();
  for (let p: object | null = prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const name of Object.getOwnPropertyNames(p)) if (name !== 'constructor') names.add(name);
  }
  return [...names];
}
