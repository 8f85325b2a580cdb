import type { ResolvedTokenSource } from '../options/resolve-token-sources.js';
import type { ProtectedResourceMetadataOptions } from './resource-metadata-options.interface.js';
import type { ProtectedResourceRef } from '../options/resolved-options.js';
export { withResourceMetadata } from '../guard/bearer.js';

/** The well-known URI suffix registered by RFC 9728 §3. */
export const RESOURCE_METADATA_WELL_KNOWN = '/.well-known/oauth-protected-resource';

/** One protected resource after validation. Internal. */
export interface ResolvedProtectedResource extends ProtectedResourceRef {
  readonly options: ProtectedResourceMetadataOptions;
  readonly authorizationServers?: readonly string[];
  readonly cacheMaxAgeSeconds: number;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
const BEARER_METHODS = ['header', 'body', 'query'];

/**
 * RFC 9728 §3.1: the metadata URL of a resource identifier — `/.well-known/oauth-protected-resource` inserted
 * between the host and the path (a path of just `/` counts as none).
 * `https://api.example.com/mcp` → `https://api.example.com/.well-known/oauth-protected-resource/mcp`.
 */
export function protectedResourceMetadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname;
  return `${url.origin}${RESOURCE_METADATA_WELL_KNOWN}${path}`;
}

/**
 * Validates `resourceMetadata` (one entry or a list); problems are appended with what to change.
 * `defaultAuthorizationServer`: the issuer to publish when `authorizationServers` is not given.
 */
export function resolveResourceMetadata(
  value: unknown,
  defaultAuthorizationServer: string | undefined,
  allowInsecure: boolean,
  problems: string[],
  warnings: string[],
): ResolvedProtectedResource[] {
  if (value === undefined) return [];
  const entries = Array.isArray(value) ? value : [value];
  if (entries.length === 0) {
    problems.push('`resourceMetadata` is an empty list: give one entry per protected resource, or leave it out.');
    return [];
  }
  const resolved: ResolvedProtectedResource[] = [];
  const seenPaths = new Map<string, string>();
  entries.forEach((raw: unknown, index) => {
    const name = Array.isArray(value) ? `resourceMetadata[${index}]` : 'resourceMetadata';
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      problems.push(`\`${name}\` must be an object with at least \`resource\` (this API's https:// URL).`);
      return;
    }
    const o = raw as ProtectedResourceMetadataOptions;
    const before = problems.length;
    const resource = checkResource(`${name}.resource`, o.resource, problems);
    const url = (field: string, v: unknown, insecureOk = allowInsecure) => {
      if (v === undefined) return;
      if (typeof v !== 'string' || !isHttpUrl(v, insecureOk)) {
        problems.push(`\`${name}.${field}\` must be an absolute https:// URL; got ${JSON.stringify(v)}.`);
      }
    };
    const strings = (field: string, v: unknown, pattern = /^[\x21\x23-\x5B\x5D-\x7E]+$/) => {
      if (v === undefined) return;
      if (!Array.isArray(v) || v.length === 0 || v.some((s) => typeof s !== 'string' || !pattern.test(s))) {
        problems.push(`\`${name}.${field}\` must be a non-empty list of strings without spaces, quotes or backslashes.`);
      }
    };
    if (o.authorizationServers !== undefined) {
      if (!Array.isArray(o.authorizationServers) || o.authorizationServers.length === 0) {
        problems.push(`\`${name}.authorizationServers\` must be a non-empty list of issuer URLs.`);
      } else {
        o.authorizationServers.forEach((s, i) => url(`authorizationServers[${i}]`, s));
      }
    }
    strings('scopesSupported', o.scopesSupported);
    if (
      o.bearerMethodsSupported !== undefined &&
      (!Array.isArray(o.bearerMethodsSupported) || o.bearerMethodsSupported.some((m) => !BEARER_METHODS.includes(m)))
    ) {
      problems.push(`\`${name}.bearerMethodsSupported\` must list only 'header', 'body' and 'query' (RFC 6750 §2).`);
    }
    if (o.resourceName !== undefined && (typeof o.resourceName !== 'string' || o.resourceName.length === 0)) {
      problems.push(`\`${name}.resourceName\` must be a non-empty string.`);
    }
    url('resourceDocumentation', o.resourceDocumentation, true);
    url('resourcePolicyUri', o.resourcePolicyUri, true);
    url('resourceTosUri', o.resourceTosUri, true);
    url('jwksUri', o.jwksUri);
    strings('resourceSigningAlgValuesSupported', o.resourceSigningAlgValuesSupported);
    strings('authorizationDetailsTypesSupported', o.authorizationDetailsTypesSupported);
    if (o.tlsClientCertificateBoundAccessTokens !== undefined && typeof o.tlsClientCertificateBoundAccessTokens !== 'boolean') {
      problems.push(`\`${name}.tlsClientCertificateBoundAccessTokens\` must be true or false.`);
    }
    if (o.additionalMetadata !== undefined) {
      let json: string | undefined;
      try {
        json = JSON.stringify(o.additionalMetadata);
      } catch {
        json = undefined;
      }
      if (o.additionalMetadata === null || typeof o.additionalMetadata !== 'object' || Array.isArray(o.additionalMetadata) || json === undefined) {
        problems.push(`\`${name}.additionalMetadata\` must be a JSON object.`);
      } else if (Object.hasOwn(o.additionalMetadata, 'resource')) {
        problems.push(`\`${name}.additionalMetadata\` cannot set \`resource\`: set \`${name}.resource\`.`);
      }
    }
    const maxAge = o.cacheMaxAgeSeconds ?? 3600;
    if (typeof maxAge !== 'number' || !Number.isInteger(maxAge) || maxAge < 0 || maxAge > 86_400) {
      problems.push(`\`${name}.cacheMaxAgeSeconds\` must be a whole number of seconds between 0 and 86,400.`);
    }
    if (!resource || problems.length > before) return;
    const metadataUrl = protectedResourceMetadataUrl(resource);
    const metadataPath = new URL(metadataUrl).pathname;
    const clash = seenPaths.get(metadataPath);
    if (clash !== undefined) {
      problems.push(`\`${name}.resource\` '${resource}' has the same metadata path (${metadataPath}) as '${clash}': give each resource its own path.`);
      return;
    }
    seenPaths.set(metadataPath, resource);
    const authorizationServers = o.authorizationServers ?? (defaultAuthorizationServer ? [defaultAuthorizationServer] : undefined);
    if (!authorizationServers) {
      // RFC 9728 §2: `authorization_servers` is how a client (an MCP client, for one) finds where to get a token.
      warnings.push(
        `\`${name}\` publishes no \`authorization_servers\` (RFC 9728): neither \`issuer\`, \`expectedIssuer\` nor ` +
          `\`${name}.authorizationServers\` is set, so clients (MCP clients among them) cannot discover the authorization server ` +
          `that issues tokens for ${resource}. Set \`issuer\` or \`expectedIssuer\` to its issuer identifier ` +
          `(e.g. 'https://sso.example.com/realms/acme'), or list it in \`${name}.authorizationServers\`.`,
      );
    }
    resolved.push(Object.freeze({ resource, metadataUrl, metadataPath, options: o, authorizationServers, cacheMaxAgeSeconds: maxAge }));
  });
  return resolved;
}

function checkResource(name: string, value: unknown, problems: string[]): string | undefined {
  const fix = "an absolute https:// URL without query or fragment, e.g. 'https://api.example.com/mcp' (http:// only for localhost/127.0.0.1)";
  if (typeof value !== 'string' || value.length === 0) {
    problems.push(`\`${name}\` is missing: set it to ${fix}.`);
    return undefined;
  }
  // `new URL()` silently drops surrounding whitespace, tabs and newlines, but the string itself is what is published
  // and expected as `aud`: a trailing newline from a mounted secret would make every token fail.
  if (value !== value.trim() || /[\u0000-\u001f\u007f]/.test(value)) {
    problems.push(
      `\`${name}\` ${JSON.stringify(value)} holds surrounding whitespace or control characters (tab, newline...): remove them, e.g. trim the environment variable it comes from.`,
    );
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`\`${name}\` '${value}' is not a URL: set it to ${fix}.`);
    return undefined;
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    problems.push(`\`${name}\` '${value}' must use https:// (RFC 9728 §1.2): set it to ${fix}.`);
    return undefined;
  }
  if (value.includes('#') || url.search !== '' || value.includes('?')) {
    problems.push(`\`${name}\` '${value}' has a query or fragment: set it to ${fix}.`);
    return undefined;
  }
  if (url.username || url.password) {
    problems.push(`\`${name}\` '${value}' holds credentials: set it to ${fix}.`);
    return undefined;
  }
  return value;
}

function isHttpUrl(value: string, insecureOk: boolean): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || (url.protocol === 'http:' && (insecureOk || LOOPBACK.has(url.hostname)));
  } catch {
    return false;
  }
}

/** The RFC 9728 §2 document of a resource, from its options and what the module is configured to accept. */
export function buildResourceMetadataDocument(
  entry: ResolvedProtectedResource,
  accepts: {
    dpop: false | { algorithms: readonly string[]; required: boolean };
    mtlsCertificateHeader?: string;
    tokenSources?: readonly ResolvedTokenSource[];
  },
): Record<string, unknown> {
  const o = entry.options;
  const tlsBound = o.tlsClientCertificateBoundAccessTokens ?? (accepts.mtlsCertificateHeader ? true : undefined);
  const document: Record<string, unknown> = {
    ...o.additionalMetadata,
    resource: entry.resource,
    ...(entry.authorizationServers ? { authorization_servers: entry.authorizationServers } : {}),
    ...(o.jwksUri ? { jwks_uri: o.jwksUri } : {}),
    ...(o.scopesSupported ? { scopes_supported: o.scopesSupported } : {}),
    bearer_methods_supported: o.bearerMethodsSupported ?? bearerMethodsOf(accepts.tokenSources),
    ...(o.resourceSigningAlgValuesSupported ? { resource_signing_alg_values_supported: o.resourceSigningAlgValuesSupported } : {}),
    ...(o.resourceName ? { resource_name: o.resourceName } : {}),
    ...(o.resourceDocumentation ? { resource_documentation: o.resourceDocumentation } : {}),
    ...(o.resourcePolicyUri ? { resource_policy_uri: o.resourcePolicyUri } : {}),
    ...(o.resourceTosUri ? { resource_tos_uri: o.resourceTosUri } : {}),
    ...(tlsBound !== undefined ? { tls_client_certificate_bound_access_tokens: tlsBound } : {}),
    ...(o.authorizationDetailsTypesSupported ? { authorization_details_types_supported: o.authorizationDetailsTypesSupported } : {}),
    ...(accepts.dpop ? { dpop_signing_alg_values_supported: [...accepts.dpop.algorithms], dpop_bound_access_tokens_required: accepts.dpop.required } : {}),
  };
  return document;
}

/**
 * RFC 6750 §2 methods the guard accepts, from `tokenSources` (undefined: the Authorization header only). Cookies and
 * custom headers are no RFC 6750 methods and are not listed; an empty list says no standard method is accepted.
 */
export function bearerMethodsOf(sources: readonly ResolvedTokenSource[] | undefined): string[] {
  if (!sources) return ['header'];
  const methods: string[] = [];
  if (sources.some((s) => s.in === 'authorization')) methods.push('header');
  if (sources.some((s) => s.in === 'query')) methods.push('query');
  return methods;
}
