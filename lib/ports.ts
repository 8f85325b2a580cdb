/**
 * The ports of the core: the interfaces optional capabilities implement to plug into the engine, the guard
 * and the health indicator. The core holds them as fields resolved at construction and calls them
 * synchronously where they sit on the cache-hit path; it never imports a capability's code.
 * Capabilities provide them under the DI tokens of `introspection.constants.ts`.
 */
import type { ActiveIntrospectionResult, IntrospectionResult, IntrospectOptions, TokenPresentation } from './interfaces/introspection-result.interface.js';
import type { ResultSource } from './telemetry/introspection-events.interface.js';
import type { IntrospectionResponse } from './client/introspection-response.js';

/** The engine's own introspection path (cache, single-flight, resilience), for a token path that must also introspect. */
export type IntrospectAtServer = (token: string, options?: IntrospectOptions, signed?: ActiveIntrospectionResult) => Promise<IntrospectionResult>;

/** Claims an eviction can name besides the token itself. */
export type TokenEvictionClaim = 'sub' | 'client_id' | 'jti' | 'sid';

/**
 * `TokenPath` (provided under `JWT_ACCESS_TOKENS` by the jwt capability): tokens it `handles()` take their
 * own path instead of plain introspection (JWT access tokens, RFC 9068), and evictions reach what it remembers.
 */
export interface TokenPath {
  /** Synchronous, on every lookup: whether this token takes this path. */
  handles(token: string): boolean;
  /** The result for a token it handles; `introspectAtServer` is the engine's introspection path. */
  resolve(
    token: string,
    options: IntrospectOptions | undefined,
    introspectAtServer: IntrospectAtServer,
  ): Promise<{ result: IntrospectionResult; source: ResultSource }>;
  /** The token's verified claims (for a background re-check of an answer about it), or undefined. */
  signedClaims(token: string): Promise<ActiveIntrospectionResult | undefined>;
  /** Refuses this token from now on; resolves to whether it was one this path handles. */
  revoke(token: string): Promise<boolean>;
  /** Refuses the tokens issued up to now that carry this claim value. */
  revokeBy(claim: TokenEvictionClaim, value: string): Promise<void>;
  /** Refuses the subject's tokens that name no session, issued up to `issuedBefore` (seconds) or now. */
  revokeSessionless(sub: string, issuedBefore?: number): Promise<void>;
}

/** What the proof is checked against: the request it came with. */
export interface DpopRequestContext {
  /** HTTP method of the request (`htm`). */
  readonly method: string;
  /** Absolute URI of the request as the client addressed it; query and fragment are ignored (`htu`). */
  readonly uri: string;
  /** The access token of the `Authorization: DPoP` header (`ath`). */
  readonly accessToken: string;
}

/** A verified proof: the key it was signed with (`jkt`, RFC 7638 thumbprint), its `jti` and `nonce`. */
export interface VerifiedDpopProof {
  readonly jkt: string;
  readonly jti: string;
  readonly iat: number;
  readonly nonce?: string;
}

/**
 * `ProofVerifier` (provided under `DPOP_VERIFIER` by the dpop capability): verifies proof-of-possession
 * proofs (DPoP, RFC 9449) for the engine's `verifyDpopProof()` / `consumeDpopProof()` / `dpopNonce`.
 */
export interface ProofVerifier {
  /** Rejects with `DpopProofError` when the proof does not hold for this request and token. */
  verify(proof: string, request: DpopRequestContext): Promise<VerifiedDpopProof>;
  /** Records the proof as used (replay check, across replicas with a shared store); rejects with `DpopProofError` on a replay. */
  consume(proof: VerifiedDpopProof): Promise<void>;
  /** The server nonce proofs must carry now, when nonces are on. */
  currentNonce(): string | undefined;
}

/** How the guard answers a proof that failed: the RFC 9449 §7.1 error code, its description, extra headers. */
export interface PresentationRefusal {
  readonly error: string;
  readonly description: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Not a refusal the verifier recognises (logged by the guard); still answered with 401. */
  readonly unexpected: boolean;
}

/** What a proof must name about the request (the guard's `requestUri()` and `certificateThumbprint()`), read on demand. */
export interface PresentationTarget {
  /** The absolute URI the client addressed (the proof's `htu`). */
  uri(): string;
  /** The client certificate's thumbprint (RFC 8705), when the connection has one. */
  certificateThumbprint(): string | undefined;
}

/**
 * `PresentationVerifier`: the HTTP side of a proof-of-possession scheme (DPoP), for `TokenGuard`. Registered by the
 * composition root (`providePresentation`), never injected into the guard: a subclassed or hand-built guard keeps it.
 */
export interface PresentationVerifier {
  /**
   * Verifies the request's proof for this token; rejects with an error that `refusal()` turns into the answer. The
   * request's target is read only once its proof header is well-formed, inside the verification: a subclass's
   * `requestUri()` / `certificateThumbprint()` that throws is a refused proof, never a 500.
   */
  verify(request: any, token: string, target: PresentationTarget): Promise<{ presentation: TokenPresentation; proof: VerifiedDpopProof }>;
  /** Records a verified proof of an accepted token; rejects on a replay. */
  consume(proof: VerifiedDpopProof): Promise<void>;
  /** The answer to a failed `verify()` / `consume()`. */
  refusal(error: unknown): PresentationRefusal;
}

/** What the health indicator reports about the key endpoint. */
export interface KeysHealth {
  readonly status: 'up' | 'stale' | 'down' | 'unknown';
  /** Age of the key set in use, seconds. */
  readonly ageSeconds?: number;
  readonly reason?: string;
}

/**
 * `HealthContributor` (provided under `AUTHORIZATION_SERVER_KEYS` by the key-set support of jwt/keys): a part
 * the readiness check reports beside the introspection endpoint (the AS's key endpoint).
 */
export interface HealthContributor {
  /** Synchronous: whether it is usable now. */
  health(): KeysHealth;
  /** Brings it up to date (the health probe's attempt); rejects when it cannot. */
  refresh(direct?: { signal?: AbortSignal }): Promise<void>;
}

/**
 * `ResponseOpener` (provided under `RESPONSE_OPENER` by the jwt capability when `signedIntrospection` is on):
 * reads the introspection endpoint's 200 answers in place of the plain JSON parser (RFC 9701 signed responses).
 */
export interface ResponseOpener {
  readonly accept: string;
  open(body: string, contentType: string | undefined): Promise<IntrospectionResponse>;
}

/** Builds a scheme's HTTP side on the proof methods of the engine a guard was given (see `providePresentation`). */
export type PresentationFactory = (proofs: ProofVerifier) => PresentationVerifier;

/** The DPoP capability's HTTP side, registered once by the composition root. */
let presentationFactory: PresentationFactory | undefined;

/**
 * Called once by the composition root (`options/resolve-options.ts`, loaded by every path to resolved options): every
 * `TokenGuard` whose options turn DPoP on — built by Nest or by hand, subclassed or not, given the module's options
 * or a copy — builds the scheme's HTTP side on its own engine's public `verifyDpopProof()` / `consumeDpopProof()` /
 * `dpopNonce`, so an engine that overrides them (a subclass, `overrideProvider(IntrospectionService)`) is honoured.
 */
export function providePresentation(factory: PresentationFactory): void {
  presentationFactory = factory;
}

/** The registered HTTP side of DPoP, or undefined (the capability was not loaded: DPoP requests are refused). */
export function registeredPresentation(): PresentationFactory | undefined {
  return presentationFactory;
}

/**
 * `TokenMinter` (provided under `TOKEN_MINTER` by the composition root, from the phantom capability when `phantom`
 * is set; null otherwise): mints a short-lived JWT for internal services from an accepted token, for consumers of
 * the engine that have no `TokenGuard` request (the forward-auth decision endpoint puts it on its 200 answer).
 */
export interface TokenMinter {
  /** The audiences tokens may be minted for; the first is the default. */
  readonly audiences: readonly string[];
  /** Rejects with `InvalidTokenError` when the token is no longer accepted, `AuthorizationServerUnavailableError` when that cannot be known. */
  mint(token: string, audience?: string, options?: IntrospectOptions): Promise<string>;
}
