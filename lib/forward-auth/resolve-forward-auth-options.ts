import { IntrospectionConfigurationError } from '../errors/introspection.errors.js';
import type { ForwardAuthLocation, ForwardAuthOptions, ForwardAuthRequirements } from './forward-auth-options.interface.js';
import { OPTION_KEYS, UPSTREAM_TOKEN_KEYS, checkKeys, checkRequirements, isRecord, shown, unusablePrefix } from './check-forward-auth-shape.js';
import { normalisePath, type OriginalRequestSource } from './forwarded-request.js';
import { locationHandler } from './location-table.js';
import { LOOPBACK, TrustedPeers } from './trusted-peers.js';
import { identityHeaderMap, unusableHeaderName } from './upstream-headers.js';

/** `ForwardAuthOptions` checked, with their defaults. */
export interface ForwardAuthSettings {
  readonly path: string;
  readonly peers: TrustedPeers;
  readonly source: OriginalRequestSource;
  readonly externalOrigin?: string;
  /** The locations with their prefixes normalised as paths are. */
  readonly locations: readonly ForwardAuthLocation[];
  readonly defaultRequirements: ForwardAuthRequirements;
  readonly headerMap: ReadonlyArray<readonly [string, string]>;
  readonly maxHeaderBytes: number;
  readonly upstreamToken?: { readonly header: string; readonly audience?: string };
}

/** Injection token of the checked `ForwardAuthOptions` (internal). */
export const FORWARD_AUTH_SETTINGS = Symbol.for('token-introspection:forward-auth-settings');

const DEFAULT_PATH = '/auth/decision';
const SOURCES: readonly OriginalRequestSource[] = ['x-forwarded', 'x-original', 'path'];

/**
 * Checks the options once, at start-up; every problem is reported in one `IntrospectionConfigurationError`: unknown
 * keys (with the likeliest meant one), wrongly typed values, prefixes that cannot match, then each value's rules.
 */
export function resolveForwardAuthOptions(given: ForwardAuthOptions = {}): ForwardAuthSettings {
  const problems: string[] = [];
  if (!isRecord(given)) {
    throw new IntrospectionConfigurationError(`Invalid ForwardAuthModule options:\n  - an options object such as { locations: [...] }; got ${shown(given)}.`);
  }
  const options: ForwardAuthOptions = given;
  checkKeys(given, OPTION_KEYS, 'options', problems);
  const typed = (key: keyof ForwardAuthOptions, ok: (value: unknown) => boolean, expected: string): boolean => {
    const value: unknown = options[key];
    if (value === undefined || ok(value)) return true;
    problems.push(`${key}: ${expected}; got ${shown(value)}.`);
    return false;
  };
  const pathOk = typed('path', (v) => typeof v === 'string', "a path such as '/auth/decision'");
  const originOk = typed('externalOrigin', (v) => typeof v === 'string', "an origin such as 'https://api.example.com'");
  const locationsOk = typed('locations', Array.isArray, "a list of locations such as [{ prefix: '/admin/', scopes: ['admin'] }]");
  const headersOk = typed('upstreamHeaders', isRecord, 'an object of header name → claim name (or false)');
  const tokenOk = typed('upstreamToken', isRecord, "an object such as { header: 'Authorization' } ({} for the defaults)");
  if (tokenOk && options.upstreamToken !== undefined) {
    const token = options.upstreamToken as unknown as Record<string, unknown>;
    checkKeys(token, UPSTREAM_TOKEN_KEYS, 'upstreamToken', problems);
    for (const key of UPSTREAM_TOKEN_KEYS) {
      if (token[key] !== undefined && typeof token[key] !== 'string') problems.push(`upstreamToken.${key}: a string; got ${shown(token[key])}.`);
    }
  }
  const attempt = <T>(what: string, run: () => T): T | undefined => {
    try {
      return run();
    } catch (error) {
      problems.push(`${what}: ${(error as Error).message}`);
      return undefined;
    }
  };
  const path = options.path === undefined ? DEFAULT_PATH : '/' + String(options.path).replace(/^\/+/, '');
  if (pathOk && (!/^(\/[A-Za-z0-9\-._~]+)+$/.test(path) || /\/\.\.?(\/|$)/.test(path))) {
    problems.push(`path: '${String(options.path)}' must be a path like '/auth/decision' (letters, digits, - . _ ~, no trailing slash).`);
  }
  const peers = attempt('trustedProxies', () => {
    if (options.trustedProxies !== undefined && (!Array.isArray(options.trustedProxies) || options.trustedProxies.length === 0)) {
      throw new Error('list one or more gateway addresses or CIDR blocks.');
    }
    return new TrustedPeers(options.trustedProxies ?? LOOPBACK);
  });
  const source = options.originalRequest ?? 'x-forwarded';
  if (!SOURCES.includes(source)) problems.push(`originalRequest: one of ${SOURCES.map((s) => `'${s}'`).join(', ')}; got '${String(source)}'.`);
  let externalOrigin: string | undefined;
  if (originOk && options.externalOrigin !== undefined) {
    externalOrigin = attempt('externalOrigin', () => {
      const url = new URL(String(options.externalOrigin));
      if (!/^https?:$/.test(url.protocol) || url.origin === 'null') throw new Error('an http(s) origin such as https://api.example.com.');
      return url.origin;
    });
  }

  const locations: ForwardAuthLocation[] = [];
  const seen = new Set<string>();
  (locationsOk ? (options.locations ?? []) : []).forEach((location, i) => {
    const where = `locations[${i}]`;
    const shapeOk = checkRequirements(location, where, true, problems);
    if (!isRecord(location)) return;
    const prefix = attempt(`${where}.prefix`, () => {
      const why = unusablePrefix(location.prefix);
      if (why) throw new Error(why);
      return normalisePath(location.prefix);
    });
    if (prefix === undefined) return;
    if (seen.has(prefix)) problems.push(`${where}.prefix: '${location.prefix}' is declared twice (prefixes are compared case-insensitively).`);
    seen.add(prefix);
    if (shapeOk && attempt(where, () => locationHandler(location, false)) !== undefined) locations.push({ ...location, prefix });
  });
  const defaults: unknown = options.defaultRequirements ?? {};
  const defaultRequirements: ForwardAuthRequirements = isRecord(defaults) ? { ...defaults } : {};
  if (checkRequirements(defaults, 'defaultRequirements', false, problems)) attempt('defaultRequirements', () => locationHandler(defaultRequirements, false));

  const headerMap = (headersOk && attempt('upstreamHeaders', () => identityHeaderMap(options.upstreamHeaders))) || [];
  const maxHeaderBytes = options.maxHeaderBytes ?? 1024;
  if (!Number.isInteger(maxHeaderBytes) || maxHeaderBytes < 16 || maxHeaderBytes > 16_384) {
    problems.push(`maxHeaderBytes: a whole number of bytes from 16 to 16,384; got ${String(options.maxHeaderBytes)}.`);
  }
  let upstreamToken: ForwardAuthSettings['upstreamToken'];
  if (tokenOk && options.upstreamToken !== undefined) {
    const header = options.upstreamToken.header ?? 'Authorization';
    const why = typeof header === 'string' ? unusableHeaderName(header) : undefined;
    if (why) problems.push(`upstreamToken.header: ${why}`);
    if (typeof header === 'string' && headerMap.some(([name]) => name.toLowerCase() === header.toLowerCase())) {
      problems.push(`upstreamToken.header: '${header}' is also an identity header (upstreamHeaders); choose another.`);
    }
    upstreamToken = { header, audience: options.upstreamToken.audience };
  }
  if (problems.length > 0) {
    throw new IntrospectionConfigurationError(`Invalid ForwardAuthModule options:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  return { path, peers: peers!, source, externalOrigin, locations, defaultRequirements, headerMap, maxHeaderBytes, upstreamToken };
}
