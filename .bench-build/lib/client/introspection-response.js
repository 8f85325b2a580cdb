import { AuthorizationServerUnavailableError, } from '../errors/introspection.errors.js';
/** RFC 7662 §2.2 claims that must be strings when present. */
const STRING_CLAIMS = ['scope', 'client_id', 'username', 'token_type', 'sub', 'iss', 'jti'];
/** RFC 7662 §2.2 claims that must be NumericDates when present. */
const TIME_CLAIMS = ['exp', 'iat', 'nbf'];
/**
 * Parses an introspection response body strictly (RFC 7662 §2.2). Anything that is not a JSON object
 * with a boolean `active` and well-typed standard claims is the authorization server misbehaving:
 * it is reported as "unavailable", never as "token invalid" and never as "token active".
 */
export function parseIntrospectionResponse(body, contentType, retryAfterSeconds) {
    const fail = (what) => new AuthorizationServerUnavailableError('invalid_response', retryAfterSeconds, `The introspection endpoint answered 200 with ${what}, not an RFC 7662 JSON response.`, { status: 200 });
    if (!contentType || !/^application\/([\w.+-]+\+)?json\b/i.test(contentType)) {
        throw fail(`content type '${contentType ?? 'none'}'`);
    }
    let json;
    try {
        json = JSON.parse(body);
    }
    catch (cause) {
        throw Object.assign(fail('a body that is not valid JSON'), { cause });
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json))
        throw fail('a JSON value that is not an object');
    const response = json;
    if (typeof response.active !== 'boolean') {
        throw fail(`"active": ${JSON.stringify(response.active)} (it must be the boolean true or false)`);
    }
    if (response.active) {
        for (const claim of STRING_CLAIMS) {
            if (response[claim] !== undefined && typeof response[claim] !== 'string')
                throw fail(`a non-string "${claim}"`);
        }
        for (const claim of TIME_CLAIMS) {
            if (response[claim] !== undefined && !(typeof response[claim] === 'number' && Number.isFinite(response[claim]))) {
                throw fail(`a non-numeric "${claim}"`);
            }
        }
        const aud = response.aud;
        if (aud !== undefined && typeof aud !== 'string' && !(Array.isArray(aud) && aud.every((a) => typeof a === 'string'))) {
            throw fail('an "aud" that is neither a string nor a list of strings');
        }
    }
    return response;
}
/**
 * Applies this API's own rules to a wire-valid response: time claims with leeway, audience, issuer.
 * Returns the result users see: RFC field names untouched, `scopes` derived beside them.
 */
export function validateClaims(response, policy, nowSeconds) {
    if (response.active !== true)
        return inactive('inactive');
    const skew = policy.clockSkewSeconds;
    const { exp, nbf, iat, aud, iss } = response;
    if (exp !== undefined && exp + skew <= nowSeconds)
        return inactive('expired');
    if (nbf !== undefined && nbf - skew > nowSeconds)
        return inactive('not_yet_valid');
    if (iat !== undefined && iat - skew > nowSeconds)
        return inactive('issued_in_future');
    if (policy.audience) {
        const audiences = aud === undefined ? [] : typeof aud === 'string' ? [aud] : aud;
        if (!audiences.some((a) => policy.audience.includes(a)))
            return inactive('audience_mismatch');
    }
    if (policy.expectedIssuer !== undefined && iss !== policy.expectedIssuer)
        return inactive('issuer_mismatch');
    const scope = response.scope;
    const scopes = Object.freeze(scope ? scope.split(' ').filter(Boolean) : []);
    return Object.freeze({ ...response, active: true, scopes });
}
const INACTIVE = new Map();
/** Inactive results are immutable singletons: nothing to allocate per rejected token. */
export function inactive(reason) {
    let result = INACTIVE.get(reason);
    if (!result)
        INACTIVE.set(reason, (result = Object.freeze({ active: false, reason })));
    return result;
}
