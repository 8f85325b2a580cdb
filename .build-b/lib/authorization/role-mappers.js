/** Own property only: inherited names (`constructor`, `__proto__`, `toString`) are never claims. */
function own(value, key) {
    return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, key)
        ? value[key]
        : undefined;
}
/** A JSON array's entries, or nothing: a string (`"admin"`), an object or a number is not a role list. */
function list(value) {
    return Array.isArray(value) ? value : [];
}
/** Built-in role mappers. Each reads arrays of strings only: a claim of any other shape yields no roles. */
export const RoleMappers = Object.freeze({
    /** A flat claim holding an array of role names, e.g. `claim('roles')` or `claim('permissions')`. */
    claim(name) {
        checkName('RoleMappers.claim', name);
        return (result) => list(own(result, name));
    },
    /** Flat `roles` (Azure AD / Entra ID app roles, many others). */
    roles() {
        return RoleMappers.claim('roles');
    },
    /** Flat `groups` (Keycloak group mapper, Okta, Entra ID). */
    groups() {
        return RoleMappers.claim('groups');
    },
    /** Keycloak realm roles: `realm_access.roles`. */
    keycloakRealm() {
        return (result) => list(own(own(result, 'realm_access'), 'roles'));
    },
    /** Keycloak client roles: `resource_access.<clientId>.roles`. */
    keycloakClient(clientId) {
        checkName('RoleMappers.keycloakClient', clientId);
        return (result) => list(own(own(own(result, 'resource_access'), clientId), 'roles'));
    },
});
function checkName(where, name) {
    if (typeof name !== 'string' || name.length === 0)
        throw new Error(`${where}() needs a non-empty name; got ${JSON.stringify(name)}.`);
}
/** The roles of a result under some mappers, computed once per result object (cached results are reused objects). */
export class RoleExtractor {
    constructor(mappers, onMapperError) {
        this.mappers = mappers;
        this.onMapperError = onMapperError;
        this.memo = new WeakMap();
    }
    rolesOf(result) {
        let roles = this.memo.get(result);
        if (roles)
            return roles;
        const found = new Set();
        for (const mapper of this.mappers) {
            try {
                const out = mapper(result);
                if (out === undefined || out === null || typeof out[Symbol.iterator] !== 'function' || typeof out === 'string')
                    continue;
                for (const role of out)
                    if (typeof role === 'string' && role.length > 0)
                        found.add(role);
            }
            catch (error) {
                this.onMapperError(error);
            }
        }
        roles = found;
        this.memo.set(result, roles);
        return roles;
    }
}
/** Validates the `roles` option. Default: the flat `roles` claim. */
export function resolveRolesOptions(value, problems) {
    if (value === undefined)
        return { mappers: [RoleMappers.roles()] };
    const mapper = value?.mapper;
    const mappers = mapper === undefined ? [RoleMappers.roles()] : Array.isArray(mapper) ? mapper : [mapper];
    if (value === null || typeof value !== 'object' || mappers.length === 0 || mappers.some((m) => typeof m !== 'function')) {
        problems.push('`roles.mapper` must be a role mapper function or a non-empty list of them, e.g. `RoleMappers.keycloakRealm()`.');
        return { mappers: [] };
    }
    return { mappers: Object.freeze([...mappers]) };
}
