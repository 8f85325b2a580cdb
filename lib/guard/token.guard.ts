import {
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  Optional,
  type CanActivate,
  type ExecutionContext,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { ModulesContainer, Reflector } from '@nestjs/core';
import type { OutagePolicy } from '../decorators/outage-policy.decorator.js';
import {
  AuthorizationServerUnavailableError,
  describeInvalidToken,
} from '../errors/introspection.errors.js';
import {
  ANY_SCOPE_KEY,
  INTROSPECTION_TELEMETRY,
  OUTAGE_POLICY_KEY,
  PUBLIC_KEY,
  RECHECK_KEY,
  REQUIRE_DPOP_KEY,
  REQUIRE_INTROSPECTION_KEY,
  RESOLVED_OPTIONS,
  SCOPES_KEY,
} from '../introspection.constants.js';
import type { IntrospectionTelemetry } from '../telemetry/introspection.telemetry.js';
import { tokenFingerprint } from '../utils/fingerprint.js';
import type { ActiveIntrospectionResult, IntrospectionResult, IntrospectOptions } from '../interfaces/introspection-result.interface.js';
import { IntrospectionService } from '../introspection.service.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { RateLimitedLogger } from '../utils/rate-limited-logger.js';
import { warnOnce } from '../utils/startup-warnings.js';
import { bearerChallenge, bearerChallenge as bearerChallengeOf, dpopChallenge, extractBearer, type BearerExtraction, type ChallengeParams } from './bearer.js';
import { headerCertificateThumbprint, socketCertificateThumbprint } from './client-certificate.js';
import type { TokenPresentation } from '../client/introspection-response.js';
import { DpopProofError, type VerifiedDpopProof } from '../dpop/dpop-proof.js';
import { acceptedTokens, requestOf, responseOf } from './execution-context.js';
import { compileTokenSources, type TokenExtractor } from './token-sources.js';
import { OtherContextAuthorizer, realtimeGraphqlConnection, type ContextRequirements } from '../connections/other-contexts.js';
import { declaresRouteChecks, evaluateRouteChecks, readRouteChecks, type RouteChecks } from './route-checks.js';
import { RoleExtractor } from '../authorization/role-mappers.js';
import { withResourceMetadata } from '../metadata/resource-metadata.js';
import { IntrospectionConfigurationError, outageMessage } from '../errors/introspection.errors.js';
import { fairnessKey } from './fairness-key.js';

/** What a route requires, read from its metadata once and then remembered. */
interface RouteRequirements {
  readonly isPublic: boolean;
  /** Contradictory or ineffective metadata, for the start-up warnings. */
  readonly traps: readonly string[];
  /** Every one of these scopes (class and handler lists merged). */
  readonly allScopes: readonly string[];
  /** For each list, at least one of its scopes (class and handler lists each apply). */
  readonly anyScopes: readonly (readonly string[])[];
  readonly outagePolicy: OutagePolicy;
  /** Options passed to `introspect()`, or undefined for the module defaults. */
  readonly introspectOptions?: IntrospectOptions;
  /** Only DPoP-bound tokens with a proof (`@RequireDpop()` or `dpop.required`). */
  readonly requireDpop: boolean;
  /** Roles, claims, step-up, per-resource audience (`route-checks.ts`); undefined when none. */
  readonly checks?: RouteChecks;
  /** RFC 9728 metadata URL added to this route's challenges. */
  readonly resourceMetadataUrl?: string;
  /** Decorator arguments that cannot work: start-up errors. */
  readonly errors: readonly string[];
}

/**
 * Reasons under which `fail-open` lets a request through: the authorization server really cannot
 * answer. Never our own overload (`overloaded`), nor a 429 (`rate_limited`: unauthenticated callers can
 * provoke one with a flood of new tokens), nor a configuration error (`client_authentication_failed`,
 * `unexpected_status`, `unexpected_error`): those must not turn into unauthenticated access.
 */
const FAIL_OPEN_REASONS: ReadonlySet<AuthorizationServerUnavailableError['reason']> = new Set([
  'connection_failed',
  'timeout',
  'server_error',
  'invalid_response',
  'discovery_failed',
  'circuit_open',
] as const);

/** A bearer token on a connection without a client certificate: the same frozen object for every such request. */
const BEARER_PRESENTATION: TokenPresentation = Object.freeze({ scheme: 'bearer' });
/** The cache-hit lookup's options for a plain Bearer token on a route without introspection options: one object, not one per request. */
const BEARER_LOOKUP: IntrospectOptions = Object.freeze({ presentation: BEARER_PRESENTATION });

/** What `request.introspectionOutage` holds when a `fail-open` route proceeds during an outage. */
export interface IntrospectionOutage {
  readonly reason: AuthorizationServerUnavailableError['reason'];
  readonly retryAfterSeconds: number;
}

/**
 * Authenticates requests with an opaque bearer token (RFC 6750) through `IntrospectionService`,
 * and answers exactly as a resource server should:
 * missing token or another scheme → 401 `WWW-Authenticate: Bearer`; malformed Bearer credentials → 400 `invalid_request`;
 * inactive/expired/wrong audience → 401 `invalid_token`; missing scope → 403 `insufficient_scope`;
 * authorization server unavailable → 503 + `Retry-After` (or the route's outage policy).
 * Never a 500. Registered globally by default (`globalGuard`); use `@Public()` to opt out.
 *
 * Subclass to customize: `getRequest`, `extractToken`, `handleOtherContext`, `throwRejection`.
 *
 * At start-up it reviews every controller route and warns about metadata that does not do what it
 * seems to (`@Public()` beside requirements, `fail-open` with scopes, `serve-stale` without a cache).
 */
@Injectable()
export class TokenGuard implements CanActivate, OnApplicationBootstrap {
  private readonly routes = new WeakMap<object, WeakMap<object, RouteRequirements>>();
  private readonly log = new RateLimitedLogger(new Logger('TokenGuard'));
  private readonly missingChallenge: string;
  private sources?: TokenExtractor;
  private otherContexts?: OtherContextAuthorizer;
  private readonly roles: RoleExtractor;

  constructor(
    protected readonly reflector: Reflector,
    protected readonly introspection: IntrospectionService,
    @Inject(RESOLVED_OPTIONS) protected readonly options: ResolvedOptions,
    @Optional() @Inject(INTROSPECTION_TELEMETRY) private readonly telemetry?: IntrospectionTelemetry,
    @Optional() private readonly modules?: ModulesContainer,
  ) {
    this.missingChallenge = bearerChallenge({ realm: options.realm });
    this.roles = new RoleExtractor(options.roles.mappers, (error) =>
      this.log.warn('role-mapper', `A role mapper threw; the token counts as holding none of its roles: ${(error as Error)?.message ?? String(error)}`));
  }

  /**
   * Warns, once at start-up, about route metadata that would silently not do what it says. Nest runs this for
   * every instance (the `TokenGuard` provider, which `APP_GUARD` reuses, `@UseGuards()` instances, one per
   * imported module): each warning is printed once per application (`warnOnce`).
   */
  onApplicationBootstrap(): void {
    if (!this.modules) return;
    const errors: string[] = [];
    for (const module of this.modules.values()) {
      for (const wrapper of module.controllers.values()) {
        const controller = wrapper.metatype as (new (...args: never[]) => unknown) | null;
        if (!controller?.prototype) continue;
        for (const name of Object.getOwnPropertyNames(controller.prototype)) {
          const handler = Object.getOwnPropertyDescriptor(controller.prototype, name)?.value as object | undefined;
          if (name === 'constructor' || typeof handler !== 'function' || Reflect.getMetadata?.('method', handler) === undefined) continue;
          const route = this.readRequirements(handler, controller);
          for (const trap of route.traps) warnOnce(this.modules, 'TokenGuard', `${controller.name}.${name}: ${trap}`);
          for (const error of route.errors) errors.push(`${controller.name}.${name}: ${error}`);
        }
      }
    }
    if (errors.length > 0) throw new IntrospectionConfigurationError(`Invalid route metadata:\n${errors.map((e) => `  - ${e}`).join('\n')}`);
  }

  /**
   * Synchronous (`true`, or a thrown rejection) when the token's answer is fresh in this process's memory —
   * Nest awaits nothing then; a promise otherwise. Call it with `await` either way.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const route = this.requirementsOf(context);
    if (route.isPublic) {
      this.telemetry?.decision('public');
      return true;
    }
    const type = context.getType<string>();
    // WebSocket and microservice messages, graphql-ws operations: see other-contexts.ts.
    if (type !== 'http' && (type !== 'graphql' || realtimeGraphqlConnection(context))) return this.handleOtherContext(context, route);

    const request = this.getRequest(context);
    const extracted = this.extractToken(request);
    if (extracted.kind !== 'token') {
      // RFC 6750 §3.1: another scheme is no Bearer request at all — answered like a missing token.
      const kind = extracted.kind === 'other_scheme' ? 'missing' : extracted.kind;
      this.telemetry?.decision(kind);
      this.telemetry?.emit('onTokenRejected', { reason: kind });
      if (extracted.kind === 'missing' || extracted.kind === 'other_scheme') {
        return this.throwRejection(context, HttpStatus.UNAUTHORIZED, { 'WWW-Authenticate': route.requireDpop ? this.dpopChallengeOf() : this.missingChallenge },
          route.requireDpop ? 'A DPoP-bound access token is required: send Authorization: DPoP <token> and a DPoP proof.' : 'An access token is required: send Authorization: Bearer <token>.');
      }
      return this.throwRejection(context, HttpStatus.BAD_REQUEST,
        { 'WWW-Authenticate': route.requireDpop
          ? this.dpopChallengeOf({ error: 'invalid_request', description: extracted.description })
          : bearerChallenge({ realm: this.options.realm, error: 'invalid_request', description: extracted.description }) },
        extracted.description);
    }

    const scheme = extracted.scheme ?? 'bearer';
    if (scheme === 'dpop') return this.activateWithProof(context, request, route, extracted.token);
    if (route.requireDpop) {
      this.telemetry?.decision('invalid');
      if (this.telemetry?.events.onTokenRejected) {
        this.telemetry.emit('onTokenRejected', { fingerprint: tokenFingerprint(extracted.token), reason: 'dpop_required' });
      }
      const description = 'This resource requires a DPoP-bound access token: send Authorization: DPoP <token> with a DPoP proof.';
      return this.throwRejection(context, HttpStatus.UNAUTHORIZED, { 'WWW-Authenticate': this.dpopChallengeOf({ error: 'invalid_token', description }) }, description);
    }
    const certificateThumbprint = this.certificateThumbprint(request);
    const presentation: TokenPresentation = certificateThumbprint === undefined ? BEARER_PRESENTATION : { scheme: 'bearer', certificateThumbprint };
    // A fresh answer in memory is decided synchronously: no promise for Nest to await (Nest accepts a boolean).
    const lookup = route.introspectOptions ? { ...route.introspectOptions, presentation } : presentation === BEARER_PRESENTATION ? BEARER_LOOKUP : { presentation };
    const cached = this.introspection.cachedResult(extracted.token, lookup);
    if (cached !== undefined) return this.admit(context, request, route, extracted.token, presentation, cached);
    return this.introspectAndAdmit(context, request, route, extracted.token, presentation);
  }

  /** `Authorization: DPoP` (RFC 9449): the proof is verified before the token is looked up. */
  private async activateWithProof(context: ExecutionContext, request: any, route: RouteRequirements, token: string): Promise<boolean> {
    const { presentation, proof } = await this.verifyDpop(context, request, route, token);
    return this.introspectAndAdmit(context, request, route, token, presentation, proof);
  }

  /** Asks `IntrospectionService` (cache, shared store, the authorization server), then decides. */
  private async introspectAndAdmit(
    context: ExecutionContext,
    request: any,
    route: RouteRequirements,
    token: string,
    presentation: TokenPresentation,
    proof?: VerifiedDpopProof,
  ): Promise<boolean> {
    let result: IntrospectionResult;
    try {
      // The client's address (Express/Fastify honour their trust-proxy settings): fairness between callers.
      const caller = typeof request.ip === 'string' ? fairnessKey(request.ip) : undefined;
      result = await this.introspection.introspect(token, { ...route.introspectOptions, caller, presentation });
    } catch (error) {
      return this.onUnavailable(context, request, route, error);
    }
    // A proof is recorded as used (the replay check) only with a token that is accepted.
    if (proof && result.active) await this.consumeDpop(context, route, proof, token);
    return this.admit(context, request, route, token, presentation, result);
  }

  /**
   * The decision on an answer, synchronous: refused when inactive, then the route's requirements, then the
   * principal attached. Both paths end here (a cache hit decided in `canActivate`, a lookup in
   * `introspectAndAdmit`): every check of an answer belongs in this method.
   */
  private admit(context: ExecutionContext, request: any, route: RouteRequirements, token: string, presentation: TokenPresentation, result: IntrospectionResult): true {
    const scheme = presentation.scheme;
    if (!result.active) {
      this.telemetry?.decision('invalid', result.reason);
      const description = describeInvalidToken(result.reason);
      if (scheme === 'dpop') {
        // RFC 9449 §7.1: a proof by another key than the token's is a bad proof; anything else is a bad token.
        const error = result.reason === 'dpop_key_mismatch' ? 'invalid_dpop_proof' : 'invalid_token';
        return this.throwRejection(context, HttpStatus.UNAUTHORIZED, { 'WWW-Authenticate': this.dpopChallenges(route, { error, description }) }, description);
      }
      const challenge = bearerChallenge({ realm: this.options.realm, error: 'invalid_token', description });
      // A DPoP-bound token sent as Bearer: also say how it must be sent (RFC 9449 §7.2).
      const dpopBound = result.reason === 'sender_constrained' && this.options.dpop !== false;
      return this.throwRejection(context, HttpStatus.UNAUTHORIZED, { 'WWW-Authenticate': dpopBound ? [challenge, this.dpopChallengeOf()] : challenge },
        description);
    }
    if (route.checks) this.checkRoute(context, route.checks, result, token, scheme);
    request[this.options.userProperty] = result;
    acceptedTokens.set(request, { result, token, presentation });
    this.telemetry?.decision('allowed');
    return true;
  }

  /** The request carrying the Authorization header. Override for custom transports. */
  protected getRequest(context: ExecutionContext): any {
    const request = requestOf(context);
    if (!request) {
      throw new HttpException(
        { statusCode: 500, message: 'TokenGuard found no HTTP request in the GraphQL context: pass `req` into the GraphQL context.' },
        500,
      );
    }
    return request;
  }

  /**
   * Reads the token from the Authorization header (RFC 6750 §2.1; `DPoP` scheme per RFC 9449 §7.1
   * unless `dpop: false`), or from the configured `tokenSources`. Override to accept other places.
   */
  protected extractToken(request: any): BearerExtraction {
    // `tokenSources` (cookie, custom header, ...): see token-sources.ts. The default stays on the path below.
    if (this.options.tokenSources) {
      this.sources ??= compileTokenSources(this.options.tokenSources, this.options.maxTokenLength, this.options.dpop !== false);
      return this.sources(request);
    }
    // Node keeps only the first of several Authorization headers; a proxy may keep the last. Refuse the ambiguity.
    const raw: unknown = request.rawHeaders ?? request.raw?.rawHeaders;
    if (Array.isArray(raw)) {
      let count = 0;
      for (let i = 0; i < raw.length; i += 2) {
        const name: unknown = raw[i];
        // Lower-cased (a new string) only for the rare spelling that is neither of the two usual ones.
        if (typeof name === 'string' && name.length === 13 && (name === 'Authorization' || name === 'authorization' || name.toLowerCase() === 'authorization')) count++;
      }
      if (count > 1) return { kind: 'malformed', description: 'Send exactly one Authorization header.' };
    }
    return extractBearer(request.headers?.authorization, this.options.maxTokenLength, this.options.dpop !== false);
  }

  /**
   * The absolute URI the client addressed, for the proof's `htu` (RFC 9449 §4.3): `dpop.externalOrigin`,
   * or `X-Forwarded-Proto`/`-Host` when `dpop.trustForwardedHeaders`, or the request's own scheme and
   * Host header; then the path (query and fragment are ignored by the comparison). Override for other setups.
   */
  protected requestUri(request: any): string {
    const raw = request.raw ?? request;
    let path: string = request.originalUrl ?? raw.url ?? request.url ?? '/';
    // RFC 9112 §3.2.2: an absolute-form target (proxies send one) — only its path counts here.
    if (/^https?:\/\//i.test(path)) {
      try {
        const target = new URL(path);
        path = target.pathname + target.search;
      } catch {
        path = '/';
      }
    }
    const dpop = this.options.dpop;
    if (dpop && dpop.externalOrigin) return dpop.externalOrigin + path;
    const headers = request.headers ?? {};
    const first = (value: unknown) => (typeof value === 'string' ? value.split(',')[0].trim() : undefined);
    // Forwarded values: the nearest proxy's is the last one (a proxy that appends keeps the client's first).
    const last = (value: unknown) => (typeof value === 'string' ? value.split(',').pop()!.trim() : undefined);
    let proto = raw.socket?.encrypted ? 'https' : 'http';
    let host = first(headers.host);
    if (dpop && dpop.trustForwardedHeaders) {
      proto = last(headers['x-forwarded-proto']) ?? proto;
      host = last(headers['x-forwarded-host']) ?? host;
    }
    return `${proto}://${host ?? 'invalid.host'}${path}`;
  }

  /**
   * The client certificate's thumbprint (RFC 8705 §3.1): from the header set by a TLS-terminating proxy
   * when `mtls.certificateHeader` is configured (that mode trusts the proxy), else from the TLS socket.
   */
  protected certificateThumbprint(request: any): string | undefined {
    const header = this.options.mtls.certificateHeader;
    if (header) return headerCertificateThumbprint(request.headers?.[header]);
    return socketCertificateThumbprint((request.raw ?? request).socket);
  }

  /** RFC 9449 §4.3: exactly one `DPoP` header holding a valid proof for this request and token. */
  private async verifyDpop(
    context: ExecutionContext,
    request: any,
    route: RouteRequirements,
    token: string,
  ): Promise<{ presentation: TokenPresentation; proof: VerifiedDpopProof }> {
    // Node joins repeated headers with ", ": a compact JWS holds neither a comma nor a space.
    const proof: unknown = request.headers?.dpop;
    try {
      if (typeof proof !== 'string' || proof.length === 0 || /[,\s]/.test(proof)) {
        throw new DpopProofError('invalid_dpop_proof', 'Send exactly one DPoP header with a DPoP proof.');
      }
      const verified = await this.introspection.verifyDpopProof(proof, { method: request.method, uri: this.requestUri(request), accessToken: token });
      return { presentation: { scheme: 'dpop', dpopJkt: verified.jkt, certificateThumbprint: this.certificateThumbprint(request) }, proof: verified };
    } catch (error) {
      return this.refuseProof(context, route, error, token);
    }
  }

  /** Records the proof of an accepted token (jti replay check across replicas); a replay is refused. */
  private async consumeDpop(context: ExecutionContext, route: RouteRequirements, proof: VerifiedDpopProof, token: string): Promise<void> {
    try {
      await this.introspection.consumeDpopProof(proof);
    } catch (error) {
      this.refuseProof(context, route, error, token);
    }
  }

  /** 401 `invalid_dpop_proof` / `use_dpop_nonce` (RFC 9449 §7.1), with a fresh `DPoP-Nonce` when nonces are on. Never a 500. */
  private refuseProof(context: ExecutionContext, route: RouteRequirements, error: unknown, token: string): never {
    if (!(error instanceof DpopProofError)) {
      this.log.warn('dpop-unexpected', `A DPoP proof could not be verified: ${(error as Error)?.message ?? String(error)}`);
    }
    const refusal = error instanceof DpopProofError ? error : new DpopProofError('invalid_dpop_proof', 'The DPoP proof could not be verified.');
    this.telemetry?.decision('invalid');
    this.telemetry?.emit('onTokenRejected', { fingerprint: tokenFingerprint(token), reason: refusal.error });
    const headers: Record<string, string | string[]> = {
      'WWW-Authenticate': this.dpopChallenges(route, { error: refusal.error, description: refusal.message }),
    };
    const nonce = this.introspection.dpopNonce;
    if (nonce) headers['DPoP-Nonce'] = nonce;
    return this.throwRejection(context, HttpStatus.UNAUTHORIZED, headers, refusal.message);
  }

  private dpopChallengeOf(params: { error?: string; description?: string; scope?: string; acrValues?: string; maxAge?: number } = {}): string {
    const algs = this.options.dpop ? this.options.dpop.algorithms : [];
    return dpopChallenge({ realm: this.options.realm, algs, ...params });
  }

  /** The DPoP challenge, and a bare Bearer challenge beside it where bearer tokens are accepted too (RFC 9449 §7.1). */
  private dpopChallenges(route: RouteRequirements, params: { error?: string; description?: string; scope?: string }): string | string[] {
    const dpop = this.dpopChallengeOf(params);
    return route.requireDpop ? dpop : [dpop, this.missingChallenge];
  }

  /**
   * Context types other than HTTP requests that are not `@Public()`: WebSocket messages of connections
   * authenticated by `authenticateWebSockets()`, graphql-ws operations of connections authenticated by
   * `ConnectionAuthenticator.graphqlWs()`, and microservice messages when `microservice.token` is set — each
   * gets the handler's decorators (scopes, roles, claims, step-up, resource audience) applied to its token, as over HTTP. Anything else is refused (Nest answers with its Forbidden
   * error): a handler must never run unauthenticated by accident. Override to authenticate other transports.
   */
  protected handleOtherContext(context: ExecutionContext, route?: ContextRequirements): boolean | Promise<boolean> {
    if (route) {
      this.otherContexts ??= new OtherContextAuthorizer(this.introspection, this.options, this.roles);
      const verdict = this.otherContexts.authorize(context, route);
      if (verdict) return verdict;
    }
    const where = `${context.getClass()?.name ?? '?'}.${(context.getHandler() as { name?: string })?.name ?? '?'}`;
    this.log.warn(
      `${context.getType<string>()}:${where}`,
      `Refused a ${context.getType<string>()} call to ${where}: TokenGuard cannot authenticate ${context.getType<string>()} contexts by itself. ` +
        'Mark the handler @Public(), authenticate the transport (authenticateWebSockets(), ConnectionAuthenticator.graphqlWs(), ' +
        'the `microservice` option), or subclass TokenGuard and override handleOtherContext().',
    );
    return false;
  }

  /**
   * Sets the response headers and throws the HTTP exception Nest turns into the response body
   * (`{ statusCode, message, error }`). Headers go through the response's own `header()` so Express
   * and Fastify behave the same.
   */
  protected throwRejection(context: ExecutionContext, status: number, headers: Record<string, string | string[]>, message: string): never {
    const response = responseOf(context);
    const metadataUrl = this.requirementsOf(context).resourceMetadataUrl;
    const challenges = headers['WWW-Authenticate'];
    if (metadataUrl && challenges) {
      // RFC 9728 §5.1: every challenge tells the client where this resource's metadata is.
      headers = { ...headers, 'WWW-Authenticate': Array.isArray(challenges) ? challenges.map((c) => withResourceMetadata(c, metadataUrl)) : withResourceMetadata(challenges, metadataUrl) };
    }
    if (response) {
      for (const [name, value] of Object.entries(headers)) {
        if (typeof response.header === 'function') response.header(name, value);
        else if (typeof response.setHeader === 'function') response.setHeader(name, value);
      }
    }
    throw new HttpException({ statusCode: status, message, error: STATUS_TEXT[status] ?? 'Error' }, status);
  }

  private onUnavailable(context: ExecutionContext, request: any, route: RouteRequirements, error: unknown): boolean {
    const unavailable =
      error instanceof AuthorizationServerUnavailableError
        ? error
        : new AuthorizationServerUnavailableError('unexpected_error', this.options.resilience.retryAfterSeconds,
            `Token introspection failed unexpectedly: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    // fail-open never grants a route that requires scopes: without an answer there is nothing to check them against.
    const requiresScopes = route.allScopes.length > 0 || route.anyScopes.length > 0 || route.checks !== undefined;
    if (route.outagePolicy === 'fail-open' && FAIL_OPEN_REASONS.has(unavailable.reason) && !requiresScopes) {
      this.telemetry?.decision('fail_open');
      const outage: IntrospectionOutage = { reason: unavailable.reason, retryAfterSeconds: unavailable.retryAfterSeconds };
      request.introspectionOutage = outage;
      this.log.warn(
        `fail-open:${unavailable.reason}`,
        `Authorization server unavailable (${unavailable.reason}); a fail-open route let a request through without a principal.`,
      );
      return true;
    }
    this.telemetry?.decision('unavailable');
    return this.throwRejection(context, HttpStatus.SERVICE_UNAVAILABLE, { 'Retry-After': String(unavailable.retryAfterSeconds) },
      outageMessage(unavailable, this.options.exposeOutageReason));
  }

  /**
   * Scopes, roles, claims, step-up (RFC 9470) and per-resource audience, on cached results as on fresh ones:
   * 401-type refusals (audience, step-up) before 403-type ones (scopes, roles, claims); see `evaluateRouteChecks`.
   */
  private checkRoute(context: ExecutionContext, checks: RouteChecks, result: ActiveIntrospectionResult, token: string, scheme: 'bearer' | 'dpop'): void {
    const refusal = evaluateRouteChecks(checks, result, this.roles, this.options.clockSkewSeconds);
    if (!refusal) return;
    let params: ChallengeParams;
    if (refusal.reason === 'insufficient_scope') {
      this.insufficientScope(token, refusal.requiredScopes);
      const scope = refusal.requiredScopes.join(' ');
      params = { realm: this.options.realm, error: refusal.error, description: `${refusal.anyOf ? 'One of these scopes' : 'Scopes'} required: ${scope}`, scope };
    } else {
      this.telemetry?.decision(refusal.status === 403 ? 'insufficient_scope' : 'invalid');
      if (this.telemetry?.events.onTokenRejected) this.telemetry.emit('onTokenRejected', { fingerprint: tokenFingerprint(token), reason: refusal.reason });
      params = {
        realm: this.options.realm,
        error: refusal.error,
        description: refusal.description,
        ...(refusal.error === 'insufficient_user_authentication' ? { acrValues: refusal.acrValues, maxAge: refusal.maxAge } : {}),
      };
    }
    this.throwRejection(context, refusal.status, { 'WWW-Authenticate': scheme === 'dpop' ? this.dpopChallengeOf(params) : bearerChallengeOf(params) }, refusal.description);
  }

  private insufficientScope(token: string, requiredScopes: readonly string[]): void {
    this.telemetry?.decision('insufficient_scope');
    if (this.telemetry?.events.onTokenRejected) {
      this.telemetry.emit('onTokenRejected', { fingerprint: tokenFingerprint(token), reason: 'insufficient_scope', requiredScopes });
    }
  }

  /** Route metadata is read once per (controller, handler) and remembered. */
  private requirementsOf(context: ExecutionContext): RouteRequirements {
    const handler = context.getHandler();
    const controller = context.getClass();
    let byHandler = this.routes.get(controller);
    if (!byHandler) this.routes.set(controller, (byHandler = new WeakMap()));
    let route = byHandler.get(handler);
    if (!route) byHandler.set(handler, (route = this.readRequirements(handler, controller)));
    return route;
  }

  private readRequirements(handler: object, controller: object): RouteRequirements {
    const h = handler as () => void;
    const c = controller as () => void;
    // @Public() exempts a route unless requirements are declared at the same or a more specific
    // level: a handler's own @Scopes/@AnyScope win over a controller's @Public(); @Public() on a
    // handler wins over the controller's requirements (an explicit exception).
    const requires = (target: () => void) =>
      this.reflector.get(SCOPES_KEY, target) !== undefined || this.reflector.get(ANY_SCOPE_KEY, target) !== undefined || declaresRouteChecks(this.reflector, target);
    const handlerPublic = this.reflector.get<boolean>(PUBLIC_KEY, h) === true;
    const classPublic = this.reflector.get<boolean>(PUBLIC_KEY, c) === true;
    const isPublic = handlerPublic ? !requires(h) : classPublic && !requires(h) && !requires(c);
    const outagePolicy = this.reflector.getAllAndOverride<OutagePolicy>(OUTAGE_POLICY_KEY, [h, c]) ?? this.options.outagePolicy;
    const checks = readRouteChecks(this.reflector, h, c, this.options);
    const { allScopes, anyScopes } = checks;
    const traps: string[] = isPublic ? [] : [...checks.traps];
    if ((handlerPublic && requires(h)) || (!handlerPublic && classPublic && (requires(h) || requires(c)))) {
      traps.push('@Public() is ignored because the route also requires scopes, roles, claims or an authentication level: it needs a valid token. Remove one of them.');
    }
    if (!isPublic && outagePolicy === 'fail-open' && (allScopes.length > 0 || anyScopes.length > 0)) {
      traps.push("'fail-open' with required scopes never lets a request through during an outage (503): scopes cannot be checked without an answer.");
    } else if (!isPublic && outagePolicy === 'fail-open' && checks.checks) {
      traps.push("'fail-open' with required roles, claims, an authentication level or a resource audience never lets a request through during an outage (503): they cannot be checked without an answer.");
    }
    if (!isPublic && outagePolicy === 'serve-stale' && (this.options.cache === false || this.options.cache.staleIfErrorMs === 0)) {
      traps.push("'serve-stale' has nothing to serve (cache disabled or cache.staleIfErrorSeconds 0): it behaves as 'fail-closed'. Enable the cache with staleIfErrorSeconds > 0.");
    }
    const allowStale = outagePolicy === 'serve-stale';
    const moduleDefault = this.options.outagePolicy === 'serve-stale';
    const requireIntrospection = this.reflector.getAllAndOverride<boolean>(REQUIRE_INTROSPECTION_KEY, [h, c]) === true;
    const recheckFraction = this.reflector.getAllAndOverride<number | undefined>(RECHECK_KEY, [h, c]);
    if (!isPublic && recheckFraction !== undefined && this.options.cache === false) {
      traps.push('@Recheck() with `cache: false`: every request already asks the authorization server. Remove it, or enable the cache.');
    }
    const requireDpop = this.options.dpop !== false && (this.options.dpop.required || this.reflector.getAllAndOverride<boolean>(REQUIRE_DPOP_KEY, [h, c]) === true);
    if (!isPublic && this.options.dpop === false && this.reflector.getAllAndOverride<boolean>(REQUIRE_DPOP_KEY, [h, c]) === true) {
      traps.push('@RequireDpop() with `dpop: false`: the DPoP scheme is not accepted, so the route accepts bearer tokens. Remove `dpop: false`.');
    }
    return {
      checks: isPublic ? undefined : checks.checks,
      resourceMetadataUrl: checks.resourceMetadataUrl,
      errors: checks.errors,
      requireDpop,
      isPublic,
      traps,
      allScopes,
      anyScopes,
      outagePolicy,
      introspectOptions:
        allowStale === moduleDefault && !requireIntrospection && recheckFraction === undefined
          ? undefined
          : {
              ...(allowStale === moduleDefault ? {} : { allowStale }),
              ...(requireIntrospection ? { requireIntrospection } : {}),
              ...(recheckFraction === undefined ? {} : { recheckFraction }),
            },
    };
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  503: 'Service Unavailable',
};
