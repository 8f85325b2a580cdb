import { Inject, Injectable, Logger, Optional, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { IntrospectionConfigurationError } from '../errors/introspection.errors.js';
import { RequestSlot, requestOf } from '../guard/execution-context.js';
import { RouteRequirementsReader } from '../guard/route-requirements.js';
import { TokenGuard } from '../guard/token.guard.js';
import { INTROSPECTION_TELEMETRY, RESOLVED_OPTIONS } from '../introspection.constants.js';
import { IntrospectionService } from '../introspection.service.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { IntrospectionTelemetry } from '../telemetry/introspection.telemetry.js';
import type { ForwardAuthRequirements } from './forward-auth-options.interface.js';
import { ForwardedRequestError, forwardedRequest, type ForwardedRequest } from './forwarded-request.js';
import { ForwardAuthLocations, LocationTable, locationHandler, type DeclaredLocation } from './location-table.js';
import { FORWARD_AUTH_SETTINGS, type ForwardAuthSettings } from './resolve-forward-auth-options.js';

/** What the guard decided a decision request is about: the forwarded request and its location. */
export interface ForwardedDecision {
  readonly view: ForwardedRequest;
  readonly location: DeclaredLocation;
}

/** The forwarded request of each decision request, for the controller that answers it. */
export const forwardedDecisions = new RequestSlot<ForwardedDecision>('token-introspection:forwarded-decision');

/**
 * The execution context of a decision request as `TokenGuard` sees the original request: the request is the forwarded
 * view, the route is the matched location's handler (its requirements), on a class that carries no metadata.
 */
class LocationContext implements ExecutionContext {
  constructor(
    private readonly inner: ExecutionContext,
    private readonly handler: () => void,
    readonly view: ForwardedRequest,
  ) {}
  getClass<T = any>(): any {
    return ForwardAuthLocations as T;
  }
  getHandler(): () => void {
    return this.handler;
  }
  getArgs<T extends any[] = any[]>(): T {
    return this.inner.getArgs<T>();
  }
  getArgByIndex<T = any>(index: number): T {
    return this.inner.getArgByIndex<T>(index);
  }
  switchToRpc() {
    return this.inner.switchToRpc();
  }
  switchToHttp() {
    return this.inner.switchToHttp();
  }
  switchToWs() {
    return this.inner.switchToWs();
  }
  getType<T extends string = string>(): T {
    return this.inner.getType<T>();
  }
}

/**
 * Decides a gateway's forwarded request exactly as `TokenGuard` decides a request (it is one): the same token
 * extraction, cache, single-flight, breaker, DPoP checks and RFC 6750 answers, with the route requirements of the
 * declared location the forwarded path matches. Peers that are not `trustedProxies` get 403 before anything is read.
 */
@Injectable()
export class ForwardAuthGuard extends TokenGuard {
  private readonly table: LocationTable;

  constructor(
    reflector: Reflector,
    introspection: IntrospectionService,
    @Inject(RESOLVED_OPTIONS) options: ResolvedOptions,
    @Inject(FORWARD_AUTH_SETTINGS) private readonly settings: ForwardAuthSettings,
    @Optional() @Inject(INTROSPECTION_TELEMETRY) telemetry?: IntrospectionTelemetry,
  ) {
    super(reflector, introspection, options, telemetry);
    // `fail-open` lets a request through without a token during an outage: never at a gateway.
    const failClosed = options.outagePolicy === 'fail-open';
    const reader = new RouteRequirementsReader(reflector, options);
    const logger = new Logger('ForwardAuthModule');
    const handlerOf = (requirements: ForwardAuthRequirements, where: string) => {
      const handler = locationHandler(requirements, failClosed);
      const route = reader.read(handler, ForwardAuthLocations);
      if (route.errors.length > 0) throw new IntrospectionConfigurationError(`Invalid ForwardAuthModule ${where}: ${route.errors.join(' ')}`);
      for (const trap of route.traps) logger.warn(`${where}: ${trap}`);
      return handler;
    };
    const locations = settings.locations.map((l, i) => ({ ...l, handler: handlerOf(l, `locations[${i}] (${l.prefix})`) }));
    const fallback = {
      prefix: '',
      isPublic: settings.defaultRequirements.public === true,
      handler: handlerOf(settings.defaultRequirements, 'defaultRequirements'),
    };
    this.table = new LocationTable(locations, fallback);
  }

  override canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const request = context.getType<string>() === 'http' ? requestOf(context) : undefined;
    if (!request || !this.settings.peers.trusts(request)) {
      return this.throwRejection(context, 403, {}, 'The decision endpoint answers trusted gateways only (trustedProxies).');
    }
    let view: ForwardedRequest;
    try {
      const pathRequired = this.settings.locations.length > 0;
      view = forwardedRequest(request, this.settings.source, this.settings.path, this.settings.externalOrigin, pathRequired);
    } catch (error) {
      if (!(error instanceof ForwardedRequestError)) throw error;
      return this.throwRejection(context, 400, {}, error.message);
    }
    const location = this.table.match(view.path);
    forwardedDecisions.set(request as object, { view, location });
    return super.canActivate(new LocationContext(context, location.handler, view));
  }

  /** The forwarded request: its Authorization and DPoP headers, its method and URI. */
  protected override getRequest(context: ExecutionContext): any {
    return context instanceof LocationContext ? context.view : super.getRequest(context);
  }

  /** The URI the client addressed (the DPoP proof's `htu`): `externalOrigin` or the forwarded scheme and host, and the forwarded path. */
  protected override requestUri(request: any): string {
    const uri: unknown = request?.uri;
    return typeof uri === 'string' ? uri : super.requestUri(request);
  }

  /**
   * Several challenges (Bearer and DPoP) in one `WWW-Authenticate` field line, comma-separated (RFC 9110 §11.6.1):
   * gateways copy one header line (nginx before 1.23 keeps only the first), and the client must get both.
   */
  protected override throwRejection(context: ExecutionContext, status: number, headers: Record<string, string | string[]>, message: string): never {
    const joined: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(headers))
      joined[name] = Array.isArray(value) && name.toLowerCase() === 'www-authenticate' ? value.join(', ') : value;
    return super.throwRejection(context, status, joined, message);
  }

  /**
   * Only from `mtls.certificateHeader`: the decision request's own TLS connection is the gateway's, never the client's.
   */
  protected override certificateThumbprint(request: any): string | undefined {
    return this.options.mtls.certificateHeader ? super.certificateThumbprint(request) : undefined;
  }
}
