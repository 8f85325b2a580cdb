import { IntrospectionConfigurationError } from '../errors/introspection.errors.js';
import type { ForwardAuthLocation, ForwardAuthOptions, ForwardAuthRequirements } from './forward-auth-options.interface.js';
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

/** Checks the options once, at start-up; every problem is reported in one `IntrospectionConfigurationError`. */
export function resolveForwardAuthOptions(options: ForwardAuthOptions = {}): ForwardAuthSettings {
  const problems: string[] = [];
  const attempt = <T>(what: string, run: () => T): T | undefined => {
    try {
      return run();
    } catch (error) {
      problems.push(`${what}: ${(error as Error).message}`);
      return undefined;
    }
  };
  const path = options.path === undefined ? DEFAULT_PATH : '/' + String(options.path).replace(/^\/+/, '');
  if (!/^(\/[A-Za-z0-9\-._~]+)+$/.test(path) || /\/\.\.?(\/|$)/.test(path)) {
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
  if (options.externalOrigin !== undefined) {
    externalOrigin = attempt('externalOrigin', () => {
      const url = new URL(String(options.externalOrigin));
      if (!/^https?:$/.test(url.protocol) || url.origin === 'null') throw new Error('an http(s) origin such as https://api.example.com.');
      return url.origin;
    });
  }

  const locations: ForwardAuthLocation[] = [];
  const seen = new Set<string>();
  (options.locations ?? []).forEach((location, i) => {
    const where = `locations[${i}]`;
    const prefix = attempt(`${where}.prefix`, () => {
      if (typeof location?.prefix !== 'string') throw new Error('a path prefix such as /admin.');
      return normalisePath(location.prefix);
    });
    if (prefix === undefined) return;
    if (seen.has(prefix)) problems.push(`${where}.prefix: '${location.prefix}' is declared twice (prefixes are compared case-insensitively).`);
    seen.add(prefix);
    if (attempt(where, () => locationHandler(location, false)) !== undefined) locations.push({ ...location, prefix });
  });
  const defaultRequirements: ForwardAuthRequirements = { ...(options.defaultRequirements ?? {}) };
  attempt('defaultRequirements', () => locationHandler(defaultRequirements, false));

  const headerMap = attempt('upstreamHeaders', () => identityHeaderMap(options.upstreamHeaders)) ?? [];
  const maxHeaderBytes = options.maxHeaderBytes ?? 1024;
  if (!Number.isInteger(maxHeaderBytes) || maxHeaderBytes < 16 || maxHeaderBytes > 16_384) {
    problems.push(`maxHeaderBytes: a whole number of bytes from 16 to 16,384; got ${String(options.maxHeaderBytes)}.`);
  }
  let upstreamToken: ForwardAuthSettings['upstreamToken'];
  if (options.upstreamToken !== undefined) {
    const header = options.upstreamToken.header ?? 'Authorization';
    const why = unusableHeaderName(header);
    if (why) problems.push(`upstreamToken.header: ${why}`);
    if (headerMap.some(([name]) => name.toLowerCase() === header.toLowerCase())) {
      problems.push(`upstreamToken.header: '${header}' is also an identity header (upstreamHeaders); choose another.`);
    }
    upstreamToken = { header, audience: options.upstreamToken.audience };
  }
  if (problems.length > 0) {
    throw new IntrospectionConfigurationError(`Invalid ForwardAuthModule options:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  return { path, peers: peers!, source, externalOrigin, locations, defaultRequirements, headerMap, maxHeaderBytes, upstreamToken };
}
