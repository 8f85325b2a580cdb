import { SetMetadata } from '@nestjs/common';
import { ANY_ROLE_KEY, ROLES_KEY } from '../authorization/authorization.constants.js';
/**
 * Requires every listed role. Roles come from the introspection result through the module's `roles.mapper`
 * (default: the flat `roles` claim; built-ins for Keycloak realm and client roles and `groups` in `RoleMappers`).
 * On a controller and on a handler both apply. A missing role answers 403 with
 * `WWW-Authenticate: Bearer error="insufficient_scope"` (no `scope` parameter: more scopes would not help).
 */
export function Roles(...roles) {
    return SetMetadata(ROLES_KEY, validateRoles('Roles', roles));
}
/** Requires at least one of the listed roles. On a controller and on a handler each list applies. Combines with `@Roles()`. */
export function AnyRole(...roles) {
    return SetMetadata(ANY_ROLE_KEY, validateRoles('AnyRole', roles));
}
function validateRoles(name, roles) {
    if (roles.length === 0 || roles.some((role) => typeof role !== 'string' || role.length === 0 || role.length > 256)) {
        throw new Error(`@${name}() needs one or more role names (non-empty strings of at most 256 characters); got ${JSON.stringify(roles)}.`);
    }
    return Object.freeze([...new Set(roles)]);
}
