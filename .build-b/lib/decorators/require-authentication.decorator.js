import { SetMetadata } from '@nestjs/common';
import { REQUIRE_AUTHENTICATION_KEY } from '../authorization/authorization.constants.js';
/**
 * RFC 9470 step-up authentication: requires an authentication context (`acr`) and/or a recent enough
 * authentication (`auth_time`) from the introspection result. A token that does not satisfy it gets 401
 * with `WWW-Authenticate: Bearer error="insufficient_user_authentication", acr_values="…", max_age="…"`
 * (the `DPoP` scheme for DPoP-bound tokens), telling the client what to ask the authorization server for.
 * On a controller and on a handler both apply (acr values must be in both lists; the smaller max age wins).
 * Checked on every request, cached results included.
 */
export function RequireAuthentication(requirement) {
    return SetMetadata(REQUIRE_AUTHENTICATION_KEY, validateRequirement(requirement));
}
function validateRequirement(requirement) {
    const fail = (why) => {
        throw new Error(`@RequireAuthentication(${safeJson(requirement)}): ${why}`);
    };
    if (requirement === null || typeof requirement !== 'object' || Array.isArray(requirement)) {
        fail('takes an object { acrValues?: string[], maxAge?: seconds }.');
    }
    const unknown = Object.keys(requirement).filter((key) => key !== 'acrValues' && key !== 'maxAge');
    if (unknown.length > 0)
        fail(`unknown option(s) ${unknown.join(', ')}; use acrValues and/or maxAge.`);
    const { acrValues, maxAge } = requirement;
    if (acrValues === undefined && maxAge === undefined)
        fail('give acrValues, maxAge, or both.');
    if (acrValues !== undefined) {
        // RFC 9470 §3: acr_values is a space-separated list of values, sent in a quoted-string.
        if (!Array.isArray(acrValues) || acrValues.length === 0 || acrValues.some((v) => typeof v !== 'string' || !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(v))) {
            fail('acrValues must be a non-empty list of values without spaces, double quotes or backslashes.');
        }
    }
    if (maxAge !== undefined && (typeof maxAge !== 'number' || !Number.isInteger(maxAge) || maxAge < 0 || maxAge > 31_536_000)) {
        fail('maxAge must be a whole number of seconds between 0 and 31,536,000.');
    }
    return Object.freeze({
        ...(acrValues !== undefined ? { acrValues: Object.freeze([...acrValues]) } : {}),
        ...(maxAge !== undefined ? { maxAge } : {}),
    });
}
/** JSON for error messages; never throws (BigInt, cycles). */
export function safeJson(value) {
    try {
        return JSON.stringify(value) ?? String(value);
    }
    catch {
        return String(value);
    }
}
