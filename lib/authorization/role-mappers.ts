import type { ActiveIntrospectionResult } from '../interfaces/introspection-result.interface.js';

/**
 * Reads the roles of an introspection result. Returns role names (an array, a Set or any iterable);
 * anything that is not a string is ignored, and a mapper that throws or returns something else yields
 * no roles (the route then answers 403, never 500).
 */
export type RoleMapper = (result: ActiveIntrospectionResult) => Iterable<unknown> | undefined | null;

/** Role extraction (`roles` option). */
export interface RolesOptions {
  /**
   * Where roles come from; several mappers are combined (union). Default `RoleMappers.claim('roles')`.
   * E.g. Keycloak: `[RoleMappers.keycloakRealm(), RoleMappers.keycloakClient('orders-api')]`.
   */
  mapper?: RoleMapper | RoleMapper[];
}

/** Own property only: inherited names (`constructor`, `__proto__`, `toString`) are never claims. */
function own(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/** A JSON array's entries, or nothing: a string (`"admin"`), an object or a number is not a role list. */
function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Built-in role mappers. Each reads arrays of strings only: a claim of any other shape yields no roles. */
export const RoleMappers = Object.freeze({
  /** A flat claim holding an array of role names, e.g. `claim('roles')` or `claim('permissions')`. */
  claim(name: string): RoleMapper {
    checkName('RoleMappers.claim', name);
    return (result) => list(own(result, name));
  },
  /** Flat `roles` (Azure AD / Entra ID app roles, many others). */
  roles(): RoleMapper {
    return RoleMappers.claim('roles');
  },
  /** Flat `groups` (Keycloak group mapper, Okta, Entra ID). */
  groups(): RoleMapper {
    return RoleMappers.claim('groups');
  },
  /** Keycloak realm roles: `realm_access.roles`. */
  keycloakRealm(): RoleMapper {
    return (result) => list(own(own(result, 'realm_access'), 'roles'));
  },
  /** Keycloak client roles: `resource_access.<clientId>.roles`. */
  keycloakClient(clientId: string): RoleMapper {
    checkName('RoleMappers.keycloakClient', clientId);
    return (result) => list(own(own(own(result, 'resource_access'), clientId), 'roles'));
  },
});

function checkName(where: string, name: unknown): void {
  if (typeof name !== 'string' || name.length === 0) throw new Error(`${where}() needs a non-empty name; got ${JSON.stringify(name)}.`);
}

/** The roles of a result under some mappers, computed once per result object (cached results are reused objects). */
export class RoleExtractor {
  private readonly memo = new WeakMap<object, ReadonlySet<string>>();

  constructor(
    private readonly mappers: readonly RoleMapper[],
    private readonly onMapperError: (error: unknown) => void,
  ) {}

  rolesOf(result: ActiveIntrospectionResult): ReadonlySet<string> {
    let roles = this.memo.get(result);
    if (roles) return roles;
    const found = new Set<string>();
    for (const mapper of this.mappers) {
      try {
        const out = mapper(result);
        if (out === undefined || out === null || typeof out[Symbol.iterator] !== 'function' || typeof out === 'string') continue;
        for (const role of out) if (typeof role === 'string' && role.length > 0) found.add(role);
      } catch (error) {
        this.onMapperError(error);
      }
    }
    roles = found;
    this.memo.set(result, roles);
    return roles;
  }
}

/** Validates the `roles` option. Default: the flat `roles` claim. */
export function resolveRolesOptions(value: unknown, problems: string[]): { readonly mappers: readonly RoleMapper[] } {
  if (value === undefined) return { mappers: [RoleMappers.roles()] };
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- load-bearing: `value` is `unknown` here (typescript-eslint#3310)
  const mapper = (value as RolesOptions | null)?.mapper;
  const mappers = mapper === undefined ? [RoleMappers.roles()] : Array.isArray(mapper) ? mapper : [mapper];
  if (value === null || typeof value !== 'object' || mappers.length === 0 || mappers.some((m) => typeof m !== 'function')) {
    problems.push('`roles.mapper` must be a role mapper function or a non-empty list of them, e.g. `RoleMappers.keycloakRealm()`.');
    return { mappers: [] };
  }
  return { mappers: Object.freeze([...mappers]) };
}
