import { Inject, Injectable, Logger, Optional, type CanActivate, type ExecutionContext, type OnApplicationBootstrap } from '@nestjs/common';
import { ModulesContainer, Reflector } from '@nestjs/core';
import { RoleExtractor } from '../authorization/role-mappers.js';
import { IntrospectionConfigurationError } from '../errors/introspection.errors.js';
import type { ActiveIntrospectionResult, IntrospectionResult, TokenPresentation } from '../interfaces/introspection-result.interface.js';
import { INTROSPECTION_TELEMETRY, RESOLVED_OPTIONS } from '../introspection.constants.js';
import { IntrospectionService } from '../introspection.service.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { registeredPresentation, type PresentationVerifier, type VerifiedDpopProof } from '../ports.js';
import type { GuardDecision, IntrospectionTelemetry } from '../telemetry/introspection.telemetry.js';
import { RateLimitedLogger } from '../utils/rate-limited-logger.js';
import { warnOnce } from '../utils/startup-warnings.js';
import { extractAuthorization, type BearerExtraction } from './bearer.js';
import { absoluteRequestUri } from './request-uri.js';
import { Challenges, type GuardRefusal } from './challenges.js';
import { headerCertificateThumbprint, socketCertificateThumbprint } from './client-certificate.js';
import { acceptedTokens, requiredRequest, responseOf } from './execution-context.js';
import { rejection } from './rejection.js';
import { fairnessKey } from './fairness-key.js';
import { registeredContextAuthorizer, unauthenticatedContext, type ContextAuthorizer, type ContextRequirements } from './context-authorizer.js';
import { asUnavailable, failOpenOutage, failOpenWarning, outageRefusal } from './outage-decision.js';
import { engineProofs, ProofChecks } from './proof-checks.js';
import type { RouteChecks } from './route-checks.js';
import { routeRefusal } from './route-refusal.js';
import { bearerLookup } from './bearer-lookup.js';
import { RouteRequirementsReader, type RouteRequirements } from './route-requirements.js';
import { compileTokenSources, type TokenExtractor } from './token-sources.js';
import { requestTenant, tenantService, unknownTenant } from './tenant-routing.js';

export type { IntrospectionOutage } from './outage-decision.js';

/**
 * Authenticates requests with an opaque bearer token (RFC 6750) through `IntrospectionService`,
 * and answers exactly as a resource server should:
 * missing token or another scheme → 401 `WWW-Authenticate: Bearer`; malformed Bearer credentials → 400 `invalid_request`;
 * inactive/expired/wrong audience → 401 `invalid_token`; missing scope → 403 `insufficient_scope`;
 * authorization server unavailable → 503 + `Retry-After` (or the route's outage policy).
 * Never a 500. Registered globally by default (`globalGuard`); use `@Public()` to opt out, `@OptionalToken()` where a token is optional.
 *
 * Subclass to customize: `getRequest`, `extractToken`, `handleOtherContext`, `throwRejection`.
 *
 * At start-up it reviews every controller route and warns about metadata that does not do what it
 * seems to (`@Public()` beside requirements, `fail-open` with scopes, `serve-stale` without a cache).
 */
@Injectable()
export class TokenGuard implements CanActivate, OnApplicationBootstrap {
  /** What each route requires, read from its metadata once. */
  private readonly requirements: RouteRequirementsReader;
  private readonly log = new RateLimitedLogger(new Logger('TokenGuard'));
  private readonly challenges: Challenges;
  private readonly proofChecks: ProofChecks;
  private sources?: TokenExtractor;
  /** Non-HTTP contexts (WebSocket and microservice messages, graphql-ws operations); undefined: such contexts are refused. */
  private readonly contexts?: ContextAuthorizer;
  private readonly roles: RoleExtractor;
  /** The DPoP scheme's HTTP side, on the proof methods of the engine this guard was given; undefined when DPoP is off. */
  private readonly proofs?: PresentationVerifier;

  constructor(
    protected readonly reflector: Reflector,
    protected readonly introspection: IntrospectionService,
    @Inject(RESOLVED_OPTIONS) protected readonly options: ResolvedOptions,
    @Optional() @Inject(INTROSPECTION_TELEMETRY) private readonly telemetry?: IntrospectionTelemetry,
    @Optional() private readonly modules?: ModulesContainer,
  ) {
    this.challenges = new Challenges(options);
    this.requirements = new RouteRequirementsReader(reflector, options);
    this.roles = new RoleExtractor(options.roles.mappers, (error) =>
      this.log.warn('role-mapper', `A role mapper threw; the token counts as holding none of its roles: ${(error as Error)?.message ?? String(error)}`),
    );
    // The capabilities registered by the composition root (see ports.ts): a guard built by hand or subclassed has them too.
    this.proofs = options.dpop ? registeredPresentation()?.(engineProofs(introspection)) : undefined;
    this.contexts = registeredContextAuthorizer()?.(introspection, options, this.roles);
    this.proofChecks = new ProofChecks(this.proofs, this.challenges, this.log, telemetry);
  }

  /**
   * Warns, once at start-up, about route metadata that would silently not do what it says. Nest runs this for
   * every instance (the `TokenGuard` provider, which `APP_GUARD` reuses, `@UseGuards()` instances, one per
   * imported module): each warning is printed once per application (`warnOnce`).
   */
  onApplicationBootstrap(): void {
    if (!this.modules) return;
    const errors = this.requirements.review(this.modules, (where, trap) => warnOnce(this.modules, 'TokenGuard', `${where}: ${trap}`));
    if (errors.length > 0) throw new IntrospectionConfigurationError(`Invalid route metadata:\n${errors.map((e) => `  - ${e}`).join('\n')}`);
  }

  /**
   * Synchronous (`true`, or a thrown rejection) when the token's answer is fresh in this process's memory —
   * Nest awaits nothing then; a promise otherwise. Call it with `await` either way.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const route = this.requirements.of(context);
    if (route.isPublic) {
      this.telemetry?.decision('public');
      return true;
    }
    const type = context.getType<string>();
    // WebSocket and microservice messages, graphql-ws operations: the connections capability (ContextAuthorizer).
    if (type !== 'http' && (type !== 'graphql' || this.contexts?.isConnection(context) === true)) return this.handleOtherContext(context, route);

    const request = this.getRequest(context);
    const extracted = this.extractToken(request);
    if (extracted.kind !== 'token') {
      // @OptionalToken(): a request without a token runs anonymously, no AS call; whatever is sent is checked.
      if (extracted.kind === 'missing' && route.optional) {
        this.telemetry?.decision('public');
        return true;
      }
      // RFC 6750 §3.1: another scheme is no Bearer request at all — answered like a missing token.
      const kind = extracted.kind === 'other_scheme' ? 'missing' : extracted.kind;
      this.telemetry?.decision(kind);
      this.telemetry?.emit('onTokenRejected', { reason: kind });
      return this.refuse(context, route, this.challenges.credentials(extracted, route.requireDpop));
    }

    const scheme = extracted.scheme ?? 'bearer';
    // `tenants`: the request's tenant picks the engine before any lookup; a request it cannot place is refused, no AS asked.
    const service = this.options.tenants ? tenantService(this.introspection, this.options.tenants, request, extracted.token) : this.introspection;
    if (!service) return this.refuse(context, route, unknownTenant(this.challenges, extracted.token, scheme, route.requireDpop, this.telemetry));
    if (scheme === 'dpop') return this.activateWithProof(context, request, route, extracted.token, service);
    if (route.requireDpop) return this.refuse(context, route, this.proofChecks.bearerRefused(extracted.token, this.tenantOf(request)));
    const lookup = bearerLookup(this.certificateThumbprint(request), route.introspectOptions);
    // A fresh answer in memory is decided synchronously: no promise for Nest to await (Nest accepts a boolean).
    const cached = service.cachedResult(extracted.token, lookup);
    if (cached !== undefined) return this.admit(context, request, route, extracted.token, lookup.presentation, cached);
    return this.introspectAndAdmit(context, request, route, extracted.token, lookup.presentation, service);
  }

  /** `Authorization: DPoP` (RFC 9449): the proof is verified before the token is looked up. */
  private async activateWithProof(
    context: ExecutionContext,
    request: any,
    route: RouteRequirements,
    token: string,
    service: IntrospectionService,
  ): Promise<boolean> {
    const target = { uri: () => this.requestUri(request), certificateThumbprint: () => this.certificateThumbprint(request) };
    const verified = await this.proofChecks.verify(request, token, target, route.requireDpop);
    if ('status' in verified) return this.throwRejection(context, verified.status, verified.headers, verified.message);
    return this.introspectAndAdmit(context, request, route, token, verified.presentation, service, verified.proof);
  }

  /** Asks `IntrospectionService` (cache, shared store, the authorization server), then decides. */
  private async introspectAndAdmit(
    context: ExecutionContext,
    request: any,
    route: RouteRequirements,
    token: string,
    presentation: TokenPresentation,
    service: IntrospectionService,
    proof?: VerifiedDpopProof,
  ): Promise<boolean> {
    let result: IntrospectionResult;
    try {
      // The client's address (Express/Fastify honour their trust-proxy settings): fairness between callers.
      const ip: unknown = request.ip;
      const caller = typeof ip === 'string' ? fairnessKey(ip) : undefined;
      result = await service.introspect(token, { ...route.introspectOptions, caller, presentation });
    } catch (error) {
      return this.onUnavailable(context, request, route, error);
    }
    // A proof is recorded as used (the replay check) only with a token that is accepted.
    if (proof && result.active) {
      const replayed = await this.proofChecks.consume(proof, token, route.requireDpop);
      if (replayed) return this.throwRejection(context, replayed.status, replayed.headers, replayed.message);
    }
    return this.admit(context, request, route, token, presentation, result);
  }

  /**
   * The decision on an answer, synchronous: refused when inactive, then the route's requirements, then the principal attached.
   * Both paths end here (a cache hit decided in `canActivate`, a lookup in `introspectAndAdmit`): every check of an answer belongs in this method.
   */
  private admit(
    context: ExecutionContext,
    request: any,
    route: RouteRequirements,
    token: string,
    presentation: TokenPresentation,
    result: IntrospectionResult,
  ): true {
    const scheme = presentation.scheme;
    if (!result.active) {
      this.decided(request, 'invalid', result.reason);
      return this.refuse(context, route, this.challenges.inactive(result.reason, scheme, route.requireDpop));
    }
    if (route.checks) this.checkRoute(context, route.checks, result, token, scheme);
    request[this.options.userProperty] = result;
    acceptedTokens.set(request as object, { result, token, presentation });
    this.decided(request, 'allowed');
    return true;
  }

  /**
   * A refused token: thrown, or on an `@OptionalToken({ invalidToken: 'anonymous' })` route the handler runs without a principal —
   * not in GraphQL, where the fields of one request share its principal (a sibling field may have attached one).
   */
  private refuse(context: ExecutionContext, route: RouteRequirements, refusal: GuardRefusal): true {
    if (route.optional?.invalidToken === 'anonymous' && context.getType<string>() !== 'graphql') return true;
    return this.throwRejection(context, refusal.status, refusal.headers, refusal.message);
  }

  /** The request carrying the Authorization header. Override for custom transports. */
  protected getRequest(context: ExecutionContext): any {
    return requiredRequest(context);
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
    return extractAuthorization(request, this.options.maxTokenLength, this.options.dpop !== false);
  }

  /**
   * The absolute URI the client addressed, for the proof's `htu` (RFC 9449 §4.3): `dpop.externalOrigin`,
   * or `X-Forwarded-Proto`/`-Host` when `dpop.trustForwardedHeaders`, or the request's own scheme and
   * Host header; then the path (query and fragment are ignored by the comparison). Override for other setups.
   */
  protected requestUri(request: any): string {
    return absoluteRequestUri(request, this.options.dpop || undefined);
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

  /**
   * Context types other than HTTP requests that are not `@Public()`: WebSocket messages of connections
   * authenticated by `authenticateWebSockets()`, graphql-ws operations of connections authenticated by
   * `ConnectionAuthenticator.graphqlWs()`, and microservice messages when `microservice.token` is set — each
   * gets the handler's decorators (scopes, roles, claims, step-up, resource audience) applied to its token, as over HTTP. Anything else is refused (Nest answers with its Forbidden
   * error): a handler must never run unauthenticated by accident. Override to authenticate other transports.
   */
  protected handleOtherContext(context: ExecutionContext, route?: ContextRequirements): boolean | Promise<boolean> {
    const verdict = route && this.contexts?.authorize(context, route);
    if (verdict) return verdict;
    const [key, message] = unauthenticatedContext(context);
    this.log.warn(key, message);
    return false;
  }

  /** Counts a decision on a request placed at a tenant (`tenants`: labelled with the tenant). */
  private decided(request: unknown, decision: GuardDecision, reason?: string): void {
    this.telemetry?.decision(decision, reason, this.tenantOf(request));
  }

  /** With `tenants`: the tenant the request was placed at (a configured name). */
  private tenantOf(request: unknown): string | undefined {
    return this.options.tenants && requestTenant(request);
  }

  private onUnavailable(context: ExecutionContext, request: any, route: RouteRequirements, error: unknown): boolean {
    const unavailable = asUnavailable(error, this.options.resilience.retryAfterSeconds);
    const outage = failOpenOutage(route, unavailable, context.getType<string>() === 'graphql');
    if (outage) {
      this.decided(request, 'fail_open');
      request.introspectionOutage = outage;
      this.log.warn(...failOpenWarning(unavailable.reason));
      return true;
    }
    this.decided(request, 'unavailable');
    const refusal = outageRefusal(unavailable, this.options.exposeOutageReason);
    return this.throwRejection(context, refusal.status, refusal.headers, refusal.message);
  }

  /**
   * Scopes, roles, claims, step-up (RFC 9470) and per-resource audience, on cached results as on fresh ones:
   * 401-type refusals (audience, step-up) before 403-type ones (scopes, roles, claims); see `evaluateRouteChecks`.
   */
  private checkRoute(context: ExecutionContext, checks: RouteChecks, result: ActiveIntrospectionResult, token: string, scheme: 'bearer' | 'dpop'): void {
    const refusal = routeRefusal(checks, result, this.roles, this.options, token, this.telemetry, scheme, this.challenges);
    if (refusal) this.throwRejection(context, refusal.status, refusal.headers, refusal.message);
  }

  /**
   * Sets the response headers and throws the HTTP exception Nest turns into the response body
   * (`{ statusCode, message, error }`). Headers go through the response's own `header()` so Express
   * and Fastify behave the same.
   */
  protected throwRejection(context: ExecutionContext, status: number, headers: Record<string, string | string[]>, message: string): never {
    throw rejection(responseOf(context), status, headers, message, this.requirements.of(context).resourceMetadataUrl);
  }
}
