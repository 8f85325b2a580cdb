import { AuthorizationServerUnavailableError } from '../errors/introspection.errors.js';
/**
 * Resolves the introspection endpoint: the configured one, or discovered from the issuer
 * (RFC 8414 first, then OpenID Connect Discovery). A failure is never remembered: the next lookup
 * tries again. A success is reused for `discoveryCacheSeconds`; if a refresh fails, the last good
 * endpoint keeps being used.
 */
export class EndpointResolver {
    constructor(options, http) {
        this.options = options;
        this.http = http;
        if (options.introspectionEndpoint) {
            this.fixed = {
                introspectionEndpoint: options.introspectionEndpoint,
                // Known only when configured: `expectedIssuer` is a rule to check, not a statement about this endpoint.
                issuer: options.issuer,
                tokenEndpoint: options.tokenEndpoint,
                jwksUri: options.keys?.jwksUri,
            };
        }
    }
    /** The endpoint if it is known without a network call (explicit, or discovered and still fresh). */
    known() {
        return this.fixed ?? this.current?.value;
    }
    async resolve(signal) {
        if (this.fixed)
            return this.fixed;
        const current = this.current;
        if (current && Date.now() < current.refreshAt)
            return current.value;
        this.inflight ??= this.discover(signal).then((value) => {
            this.current = { value, refreshAt: Date.now() + this.options.discoveryCacheMs };
            return value;
        }, (error) => {
            if (current) {
                // Keep serving the last good endpoint; try again in a minute.
                this.current = { value: current.value, refreshAt: Date.now() + 60_000 };
                return current.value;
            }
            throw error;
        }).finally(() => {
            this.inflight = undefined;
        });
        return this.inflight;
    }
    async discover(signal) {
        const issuer = this.options.issuer;
        const failures = [];
        for (const url of discoveryUrls(issuer)) {
            let res;
            try {
                res = await this.http.get(url, { signal, headers: { accept: 'application/json' } });
            }
            catch (cause) {
                throw new AuthorizationServerUnavailableError('discovery_failed', this.options.resilience.retryAfterSeconds, `Discovery of the introspection endpoint failed: ${url} did not answer (${describe(cause)}).`, { cause });
            }
            if (res.status === 404 || res.status === 400) {
                failures.push(`${url} answered ${res.status}`);
                continue;
            }
            let doc;
            try {
                doc = res.status === 200 ? JSON.parse(res.data) : undefined;
            }
            catch {
                doc = undefined;
            }
            if (!doc || typeof doc !== 'object') {
                failures.push(`${url} answered ${res.status} without a JSON metadata document`);
                continue;
            }
            // RFC 8414 §3.3 / OpenID Connect Discovery §4.3: the metadata must name exactly the issuer we asked for.
            if (typeof doc.issuer !== 'string') {
                failures.push(`${url} has no "issuer" (RFC 8414 §3.3 requires it)`);
                continue;
            }
            if (doc.issuer !== issuer) {
                failures.push(`${url} describes issuer '${doc.issuer}', not '${issuer}' (they must be identical: set \`issuer\` exactly as the metadata says, if that server is yours)`);
                continue;
            }
            const parsed = this.endpointUrl(doc.introspection_endpoint, 'introspection_endpoint', url, failures);
            if (!parsed)
                continue;
            // The token endpoint receives our client credentials (client_credentials_bearer): same https rule.
            let tokenEndpoint = this.options.tokenEndpoint;
            if (!tokenEndpoint && this.options.clientAuthMethod === 'client_credentials_bearer') {
                const listed = this.endpointUrl(doc.token_endpoint, 'token_endpoint', url, failures);
                if (!listed)
                    continue;
                tokenEndpoint = listed.href;
            }
            // Optional here: only JWT validation and RFC 9701 need it, and they say so when it is missing.
            const jwksUri = this.options.keys?.jwksUri ?? (doc.jwks_uri === undefined ? undefined : this.endpointUrl(doc.jwks_uri, 'jwks_uri', url, []));
            return { introspectionEndpoint: parsed, issuer: doc.issuer, tokenEndpoint, jwksUri };
        }
        throw new AuthorizationServerUnavailableError('discovery_failed', this.options.resilience.retryAfterSeconds, `Discovery of the introspection endpoint failed: ${failures.join('; ')}. ` +
            'Check `issuer`, or set `introspectionEndpoint` explicitly.');
    }
    /** An endpoint the metadata lists, if it is an absolute URL that obeys `allowInsecureRequests`. */
    endpointUrl(value, name, source, failures) {
        if (typeof value !== 'string') {
            failures.push(`${source} lists no ${name}${name === 'introspection_endpoint' ? ' (is introspection enabled at the authorization server?)' : ''}`);
            return undefined;
        }
        let parsed;
        try {
            parsed = new URL(value);
        }
        catch {
            failures.push(`${source} lists an invalid ${name}`);
            return undefined;
        }
        if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && this.options.allowInsecureRequests)) {
            failures.push(`${source} lists a non-https ${name} (${parsed.origin}): credentials and tokens would travel in clear text; set allowInsecureRequests only for development`);
            return undefined;
        }
        return parsed;
    }
}
/** RFC 8414 §3.1 inserts the well-known segment before the issuer's path; OIDC Discovery appends it. */
export function discoveryUrls(issuer) {
    const url = new URL(issuer);
    const path = stripSlash(url.pathname);
    return [
        `${url.origin}/.well-known/oauth-authorization-server${path}`,
        `${url.origin}${path}/.well-known/openid-configuration`,
    ];
}
function stripSlash(s) {
    return s.endsWith('/') ? s.slice(0, -1) : s;
}
function describe(error) {
    const e = error;
    return e?.code ?? e?.message ?? String(error);
}
