import type { ExecutionContext } from '@nestjs/common';
import type { ModulesContainer, Reflector } from '@nestjs/core';
import type { ResolvedOptionalToken } from '../decorators/optional-token.decorator.js';
import type { OutagePolicy } from '../decorators/outage-policy.decorator.js';
import {
  ANY_SCOPE_KEY,
  OPTIONAL_TOKEN_KEY,
  OUTAGE_POLICY_KEY,
  PUBLIC_KEY,
  RECHECK_KEY,
  REQUIRE_DPOP_KEY,
  REQUIRE_INTROSPECTION_KEY,
  SCOPES_KEY,
} from '../introspection.constants.js';
import type { IntrospectOptions } from '../interfaces/introspection-result.interface.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { declaresRouteChecks, readRouteChecks, type RouteChecks } from './route-checks.js';

/** What a route requires, read from its metadata once and then remembered. */
export interface RouteRequirements {
  readonly isPublic: boolean;
  /** `@OptionalToken()`: no token → anonymous; a sent token is checked as on any route (see `optional-route.ts`). */
  readonly optional?: ResolvedOptionalToken;
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
 * Reads what each route requires from its decorators (`@Public()`, `@Scopes()`, outage policy, DPoP, roles,
 * claims, step-up, resource), once per (controller, handler), and reviews every route at start-up.
 */
export class RouteRequirementsReader {
  private readonly routes = new WeakMap<object, WeakMap<object, RouteRequirements>>();

  constructor(
    private readonly reflector: Reflector,
    private readonly options: ResolvedOptions,
  ) {}

  /**
   * Every controller route of the application: `warn` gets metadata that would silently not do what it says;
   * the result lists metadata that cannot work (start-up errors).
   */
  review(modules: ModulesContainer, warn: (where: string, trap: string) => void): string[] {
    const errors: string[] = [];
    for (const module of modules.values()) {
      for (const wrapper of module.controllers.values()) {
        const controller = wrapper.metatype as (new (...args: never[]) => unknown) | null;
        if (!controller?.prototype) continue;
        for (const name of Object.getOwnPropertyNames(controller.prototype)) {
          const handler = Object.getOwnPropertyDescriptor(controller.prototype, name)?.value as object | undefined;
          if (name === 'constructor' || typeof handler !== 'function' || Reflect.getMetadata?.('method', handler) === undefined) continue;
          const route = this.read(handler, controller);
          for (const trap of route.traps) warn(`${controller.name}.${name}`, trap);
          for (const error of route.errors) errors.push(`${controller.name}.${name}: ${error}`);
        }
      }
    }
    return errors;
  }

  /** Route metadata is read once per (controller, handler) and remembered. */
  of(context: ExecutionContext): RouteRequirements {
    const handler = context.getHandler();
    const controller = context.getClass();
    let byHandler = this.routes.get(controller);
    if (!byHandler) this.routes.set(controller, (byHandler = new WeakMap()));
    let route = byHandler.get(handler);
    if (!route) byHandler.set(handler, (route = this.read(handler, controller)));
    return route;
  }

  read(handler: object, controller: object): RouteRequirements {
    const h = handler as () => void;
    const c = controller as () => void;
    // @Public() exempts a route unless requirements are declared at the same or a more specific
    // level: a handler's own @Scopes/@AnyScope win over a controller's @Public(); @Public() on a
    // handler wins over the controller's requirements (an explicit exception).
    const requires = (target: () => void) =>
      this.reflector.get(SCOPES_KEY, target) !== undefined ||
      this.reflector.get(ANY_SCOPE_KEY, target) !== undefined ||
      declaresRouteChecks(this.reflector, target);
    const handlerPublic = this.reflector.get<boolean>(PUBLIC_KEY, h) === true;
    const classPublic = this.reflector.get<boolean>(PUBLIC_KEY, c) === true;
    // @OptionalToken() follows the same rule: the handler's own decorator wins over the controller's, and so do the
    // handler's own requirements (a token is then required, as under a controller's @Public()).
    const handlerOptional = this.reflector.get<ResolvedOptionalToken | undefined>(OPTIONAL_TOKEN_KEY, h);
    const classOptional = handlerPublic ? undefined : this.reflector.get<ResolvedOptionalToken | undefined>(OPTIONAL_TOKEN_KEY, c);
    const optional = handlerOptional ?? (requires(h) ? undefined : classOptional);
    const isPublic = optional ? false : handlerPublic ? !requires(h) : classPublic && !requires(h) && !requires(c);
    const outagePolicy = this.reflector.getAllAndOverride<OutagePolicy>(OUTAGE_POLICY_KEY, [h, c]) ?? this.options.outagePolicy;
    const checks = readRouteChecks(this.reflector, h, c, this.options);
    const { allScopes, anyScopes } = checks;
    const traps: string[] = isPublic ? [] : [...checks.traps];
    if (optional) {
      const routePolicy = this.reflector.getAllAndOverride<OutagePolicy | undefined>(OUTAGE_POLICY_KEY, [h, c]);
      traps.push(...optionalTokenTraps(optional, handlerOptional ? handlerPublic : classPublic, routePolicy));
    } else if (classOptional) {
      traps.push(
        "The controller's @OptionalToken() does not apply: the handler's own scopes, roles, claims or authentication level require a valid token (401 without one). " +
          'Put @OptionalToken() on the handler to make the token optional here.',
      );
    } else if ((handlerPublic && requires(h)) || (!handlerPublic && classPublic && (requires(h) || requires(c)))) {
      traps.push(
        '@Public() is ignored because the route also requires scopes, roles, claims or an authentication level: it needs a valid token. Remove one of them.',
      );
    }
    if (!isPublic && !optional && outagePolicy === 'fail-open' && (allScopes.length > 0 || anyScopes.length > 0)) {
      traps.push("'fail-open' with required scopes never lets a request through during an outage (503): scopes cannot be checked without an answer.");
    } else if (!isPublic && !optional && outagePolicy === 'fail-open' && checks.checks) {
      traps.push(
        "'fail-open' with required roles, claims, an authentication level or a resource audience never lets a request through during an outage (503): they cannot be checked without an answer.",
      );
    }
    if (!isPublic && !optional && outagePolicy === 'serve-stale' && (this.options.cache === false || this.options.cache.staleIfErrorMs === 0)) {
      traps.push(
        "'serve-stale' has nothing to serve (cache disabled or cache.staleIfErrorSeconds 0): it behaves as 'fail-closed'. Enable the cache with staleIfErrorSeconds > 0.",
      );
    }
    const allowStale = outagePolicy === 'serve-stale';
    const moduleDefault = this.options.outagePolicy === 'serve-stale';
    const requireIntrospection = this.reflector.getAllAndOverride<boolean>(REQUIRE_INTROSPECTION_KEY, [h, c]) === true;
    const recheckFraction = this.reflector.getAllAndOverride<number | undefined>(RECHECK_KEY, [h, c]);
    if (!isPublic && recheckFraction !== undefined && this.options.cache === false) {
      traps.push('@Recheck() with `cache: false`: every request already asks the authorization server. Remove it, or enable the cache.');
    }
    const requireDpop =
      this.options.dpop !== false && (this.options.dpop.required || this.reflector.getAllAndOverride<boolean>(REQUIRE_DPOP_KEY, [h, c]) === true);
    if (!isPublic && this.options.dpop === false && this.reflector.getAllAndOverride<boolean>(REQUIRE_DPOP_KEY, [h, c]) === true) {
      traps.push('@RequireDpop() with `dpop: false`: the DPoP scheme is not accepted, so the route accepts bearer tokens. Remove `dpop: false`.');
    }
    return {
      checks: isPublic ? undefined : checks.checks,
      resourceMetadataUrl: checks.resourceMetadataUrl,
      errors: checks.errors,
      requireDpop,
      isPublic,
      optional,
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

/**
 * Start-up warnings of an `@OptionalToken()` route: `@Public()` on the same level (contradictory: the route reads
 * tokens), and a route-level `fail-open` / `fail-closed` that `onOutage` overrides.
 */
function optionalTokenTraps(optional: ResolvedOptionalToken, publicToo: boolean, routePolicy: OutagePolicy | undefined): string[] {
  const traps: string[] = [];
  if (publicToo) {
    traps.push(
      '@Public() is ignored beside @OptionalToken() on the same level: the route reads a token when one is sent and refuses a bad one. Remove one of them.',
    );
  }
  const outage = optional.onOutage === 'anonymous' ? 'fail-open' : 'fail-closed';
  if ((routePolicy === 'fail-open' || routePolicy === 'fail-closed') && routePolicy !== outage) {
    traps.push(
      `@OutagePolicy('${routePolicy}') does not apply to an @OptionalToken() route: its onOutage ('${optional.onOutage}') decides when the authorization server cannot answer. ` +
        `Use @OptionalToken({ onOutage: '${routePolicy === 'fail-open' ? 'anonymous' : 'fail-closed'}' }).`,
    );
  }
  return traps;
}
