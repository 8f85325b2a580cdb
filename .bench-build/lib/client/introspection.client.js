import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import axios from 'axios';
import { AuthorizationServerUnavailableError } from '../errors/introspection.errors.js';
import { ClientAuthentication } from './client-authentication.js';
import { EndpointResolver } from './discovery.js';
import { parseIntrospectionResponse } from './introspection-response.js';
/**
 * The HTTP client of the introspection endpoint (RFC 7662 §2.1): one POST per call, no retries,
 * no caching (the layers above do that). Every failure is classified as an
 * `AuthorizationServerUnavailableError` with a precise `reason`; none ever means "token invalid".
 */
export class IntrospectionClient {
    constructor(options) {
        this.options = options;
        this.http = axios.create({
            // Deadlines come from the resilience layer through `signal`.
            timeout: 0,
            maxRedirects: 0,
            maxContentLength: options.maxResponseBytes,
            responseType: 'text',
            transformResponse: [(data) => data],
            validateStatus: () => true,
            httpAgent: options.httpAgent ?? new HttpAgent({ keepAlive: true }),
            httpsAgent: options.httpsAgent ?? new HttpsAgent({ keepAlive: true }),
        });
        this.endpoints = new EndpointResolver(options, this.http);
        this.auth = new ClientAuthentication(options);
    }
    /** Closes idle keep-alive connections (on application shutdown). */
    close() {
        if (!this.options.httpAgent)
            this.http.defaults.httpAgent.destroy();
        if (!this.options.httpsAgent)
            this.http.defaults.httpsAgent.destroy();
    }
    /** POSTs the token to the introspection endpoint and returns the wire-valid response. */
    async introspect(token, signal) {
        const { introspectionEndpoint, issuer } = await this.endpoints.resolve(signal);
        const credentials = await this.auth.credentials(issuer ?? introspectionEndpoint.href);
        const body = new URLSearchParams({ token, token_type_hint: 'access_token', ...credentials.body });
        let res;
        try {
            res = await this.http.post(introspectionEndpoint.href, body.toString(), {
                signal,
                headers: {
                    'content-type': 'application/x-www-form-urlencoded',
                    accept: 'application/json',
                    ...credentials.headers,
                },
            });
        }
        catch (cause) {
            throw this.transportError(cause);
        }
        return this.classify(res);
    }
    classify(res) {
        const status = res.status;
        const retryAfter = this.options.resilience.retryAfterSeconds;
        if (status === 200) {
            return parseIntrospectionResponse(res.data, header(res, 'content-type'), retryAfter);
        }
        const serverHint = parseRetryAfter(header(res, 'retry-after'));
        const oauthError = describeOAuthError(res.data);
        if (status === 401 || status === 403 || /^invalid_client(:|$)/.test(oauthError ?? '')) {
            return fail('client_authentication_failed', retryAfter, `The introspection endpoint rejected this API's client credentials (HTTP ${status}${oauthError ? `: ${oauthError}` : ''}). ` +
                `Check \`clientId\`, the secret or key, and \`clientAuthMethod\` ('${this.options.clientAuthMethod}') ` +
                'against the client registered at the authorization server, and that it may introspect tokens.', status);
        }
        if (status === 429) {
            return fail('rate_limited', serverHint ?? retryAfter, `The introspection endpoint is rate limiting us (HTTP 429).`, status, serverHint);
        }
        if (status >= 500) {
            return fail('server_error', serverHint ?? retryAfter, `The introspection endpoint answered HTTP ${status}.`, status, serverHint);
        }
        return fail('unexpected_status', retryAfter, `The introspection endpoint answered HTTP ${status}${oauthError ? ` (${oauthError})` : ''}; expected 200. Check that \`introspectionEndpoint\` points at the RFC 7662 endpoint.`, status);
    }
    transportError(cause) {
        const e = cause;
        const retryAfter = this.options.resilience.retryAfterSeconds;
        if (typeof e?.message === 'string' && e.message.includes('maxContentLength')) {
            return new AuthorizationServerUnavailableError('invalid_response', retryAfter, `The introspection response exceeded maxResponseBytes (${this.options.maxResponseBytes} bytes).`, { cause });
        }
        if (e?.code === 'ERR_CANCELED' || e?.name === 'CanceledError') {
            return new AuthorizationServerUnavailableError('timeout', retryAfter, 'The introspection request was aborted (timeout).', { cause });
        }
        return new AuthorizationServerUnavailableError('connection_failed', retryAfter, `The introspection endpoint could not be reached (${e?.code ?? e?.message ?? 'unknown error'}).`, { cause });
    }
}
function fail(reason, retryAfterSeconds, message, status, serverHint) {
    throw new AuthorizationServerUnavailableError(reason, retryAfterSeconds, message, {
        status,
        retryAfterFromServer: serverHint !== undefined,
    });
}
/** `error` and `error_description` of an OAuth 2.0 error response (RFC 6749 §5.2), if the body is one. */
function describeOAuthError(body) {
    if (typeof body !== 'string' || body.length > 4096)
        return undefined;
    try {
        const json = JSON.parse(body);
        if (typeof json?.error !== 'string')
            return undefined;
        const description = typeof json.error_description === 'string' ? `: ${json.error_description.slice(0, 200)}` : '';
        return `${json.error.slice(0, 64)}${description}`;
    }
    catch {
        return undefined;
    }
}
function header(res, name) {
    const value = res.headers[name];
    return value === undefined || value === null ? undefined : String(value);
}
/** `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Returns whole seconds ≥ 1. */
export function parseRetryAfter(value, now = Date.now()) {
    if (!value)
        return undefined;
    const trimmed = value.trim();
    if (/^\d+$/.test(trimmed))
        return Math.max(1, Number(trimmed));
    const date = Date.parse(trimmed);
    if (Number.isNaN(date))
        return undefined;
    return Math.max(1, Math.ceil((date - now) / 1000));
}
