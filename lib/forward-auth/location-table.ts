import { AnyClaim, RequireClaims } from '../decorators/require-claims.decorator.js';
import { AnyRole, Roles } from '../decorators/roles.decorator.js';
import { AnyScope, Scopes } from '../decorators/scopes.decorator.js';
import { OutagePolicy } from '../decorators/outage-policy.decorator.js';
import { Public } from '../decorators/public.decorator.js';
import { RequireDpop } from '../decorators/require-dpop.decorator.js';
import { RequireIntrospection } from '../decorators/require-introspection.decorator.js';
import type { ForwardAuthLocation, ForwardAuthRequirements } from './forward-auth-options.interface.js';

/**
 * One declared location, as `TokenGuard` reads a route: a handler function carrying the metadata its decorators would
 * set, on a class that carries none. The guard's own route reader (cached per handler) then applies exactly the checks
 * of `@Scopes()`, `@Roles()`, `@RequireClaims()`, ….
 */
export interface DeclaredLocation {
  /** Lower-cased prefix (`''` for the default requirements). */
  readonly prefix: string;
  readonly isPublic: boolean;
  readonly audience?: string;
  readonly handler: () => void;
}

/** The class every location's handler belongs to: no metadata, so nothing is inherited from a controller. */
export class ForwardAuthLocations {}

type Decorator = ClassDecorator & MethodDecorator;

/**
 * The handler of a location. `failClosed`: the module's outage policy is `fail-open`, which must never let a
 * gateway's request through without a token: the location is `fail-closed` instead. Throws the decorators' messages.
 */
export function locationHandler(requirements: ForwardAuthRequirements, failClosed: boolean): () => void {
  const handler = function forwardAuthLocation(): void {};
  const decorators: Decorator[] = [];
  const r = requirements;
  const has = (list: unknown[] | undefined) => list !== undefined;
  const requires = has(r.scopes) || has(r.anyScopes) || has(r.roles) || has(r.anyRoles) || r.claims !== undefined || r.anyClaims !== undefined;
  if (r.public === true) {
    if (requires || r.requireDpop || r.requireIntrospection) throw new Error('`public: true` cannot be combined with requirements.');
    decorators.push(Public());
  }
  if (r.scopes) decorators.push(Scopes(...r.scopes));
  if (r.anyScopes) decorators.push(AnyScope(...r.anyScopes));
  if (r.roles) decorators.push(Roles(...r.roles));
  if (r.anyRoles) decorators.push(AnyRole(...r.anyRoles));
  if (r.claims) decorators.push(RequireClaims(r.claims));
  if (r.anyClaims) decorators.push(AnyClaim(r.anyClaims));
  if (r.requireDpop === true) decorators.push(RequireDpop());
  if (r.requireIntrospection === true) decorators.push(RequireIntrospection());
  if (failClosed) decorators.push(OutagePolicy('fail-closed'));
  const descriptor: PropertyDescriptor = { value: handler };
  for (const decorate of decorators) (decorate as MethodDecorator)(ForwardAuthLocations.prototype, handler.name, descriptor);
  return handler;
}

/** The declared locations, longest prefix first, and the default requirements: finds a path's location. */
export class LocationTable {
  private readonly ordered: readonly DeclaredLocation[];

  constructor(
    locations: readonly (ForwardAuthLocation & { handler: () => void })[],
    private readonly fallback: DeclaredLocation,
  ) {
    this.ordered = locations
      .map((l) => ({ prefix: l.prefix.toLowerCase(), isPublic: l.public === true, audience: l.audience, handler: l.handler }))
      .sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /**
   * The location of a normalised (lower-cased) path: the longest prefix it starts with, else the default. A prefix
   * ending with `/` also covers the path without that slash (`/admin/` covers `/admin`): upstreams serve both as one
   * resource (Express's non-strict routing, nginx's redirect of `/admin` to `/admin/`).
   */
  match(path: string): DeclaredLocation {
    for (const location of this.ordered) if (covers(location.prefix, path)) return location;
    return this.fallback;
  }
}

/** Whether `prefix` covers `path`: a plain string prefix, and `/admin/` also covers `/admin` exactly. */
export function covers(prefix: string, path: string): boolean {
  return path.startsWith(prefix) || (prefix.length > 1 && prefix.endsWith('/') && path === prefix.slice(0, -1));
}
