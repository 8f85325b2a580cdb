import { checkAlgorithms } from '../keys/jws-algorithms.js';
import type { CoreIntrospectionOptions } from '../options/core-options.interface.js';
import type { NumberReader } from '../options/option-readers.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { PushModuleOptions } from './push-options.interface.js';

/**
 * What the push resolvers read: their slice, the core's issuer and client, and the `jwt` key settings they
 * default to (named structurally, so push does not depend on jwt/).
 */
type PushOptionsInput = Partial<Pick<CoreIntrospectionOptions, 'issuer' | 'expectedIssuer' | 'introspectionEndpoint' | 'clientId'>> &
  PushModuleOptions & { readonly jwt?: { readonly issuer?: string; readonly jwksUri?: string } };

/** The revocation webhook's secret (`revocationWebhookSecret`). */
export function resolveRevocationWebhookOptions(
  o: Pick<PushModuleOptions, 'revocationWebhookSecret'>,
  problems: string[],
): Pick<ResolvedOptions, 'revocationWebhookSecret'> {
  if (o.revocationWebhookSecret !== undefined && (typeof o.revocationWebhookSecret !== 'string' || o.revocationWebhookSecret.length < 16)) {
    problems.push('`revocationWebhookSecret` must be a string of at least 16 characters (generate a random one).');
  }
  return { revocationWebhookSecret: o.revocationWebhookSecret };
}

/** The push receivers' options (`securityEvents`, `backchannelLogout`), validated at start-up. */
export function resolvePushOptions(
  o: PushOptionsInput,
  allowInsecureRequests: boolean,
  problems: string[],
  num: NumberReader,
): Pick<ResolvedOptions, 'securityEvents' | 'backchannelLogout'> {
  const url = (name: string, value: unknown): URL | undefined => {
    if (value === undefined) return undefined;
    try {
      const parsed = new URL(String(value));
      if (parsed.protocol === 'https:' || (parsed.protocol === 'http:' && allowInsecureRequests)) return parsed;
      problems.push(`\`${name}\` must be https:// (keys fetched over clear text can be replaced), or set \`allowInsecureRequests\` for development.`);
    } catch {
      problems.push(`\`${name}\` is not a valid absolute URL: '${String(value)}'.`);
    }
    return undefined;
  };
  const audiences = (name: string, value: unknown, fallback?: string): string[] => {
    const list = value === undefined ? (fallback ? [fallback] : []) : Array.isArray(value) ? value : [value];
    if (list.length === 0 || list.some((a) => typeof a !== 'string' || a.length === 0)) {
      problems.push(`\`${name}\` must be a non-empty string or a non-empty list of non-empty strings.`);
    }
    return list as string[];
  };

  let securityEvents: ResolvedOptions['securityEvents'] = false;
  const s = o.securityEvents;
  if (s !== undefined) {
    if (s === null || typeof s !== 'object') {
      problems.push('`securityEvents` must be an object: `{ issuer, audience, jwksUri }` of the Shared Signals transmitter.');
    } else {
      if (typeof s.issuer !== 'string' || s.issuer.length === 0) problems.push("`securityEvents.issuer` must be the transmitter's `iss` (a non-empty string).");
      if ((s.jwksUri === undefined) === (s.jwks === undefined)) {
        problems.push("Give exactly one of `securityEvents.jwksUri` (the transmitter's `jwks_uri`) and `securityEvents.jwks` (its public keys inline).");
      }
      const jwks = s.jwks;
      if (jwks !== undefined && (jwks === null || typeof jwks !== 'object' || !Array.isArray(jwks.keys))) {
        problems.push('`securityEvents.jwks` must be a JWK Set: `{ keys: [ ...public JWKs ] }`.');
      }
      securityEvents = {
        issuer: s.issuer,
        audience: audiences('securityEvents.audience', s.audience),
        jwksUri: url('securityEvents.jwksUri', s.jwksUri),
        jwks,
        algorithms: checkAlgorithms('securityEvents.algorithms', s.algorithms, problems),
        maxAgeSeconds: num('securityEvents.maxAgeSeconds', s.maxAgeSeconds, 300, { min: 1, max: 86_400, unit: 'seconds' }),
        maxBodyBytes: num('securityEvents.maxBodyBytes', s.maxBodyBytes, 16_384, { min: 256, max: 1_048_576, unit: 'bytes', integer: true }),
        subjectIssuer: s.subjectIssuer ?? o.expectedIssuer ?? o.issuer,
        keysCacheMs: 1000 * num('securityEvents.keysCacheSeconds', s.keysCacheSeconds, 300, { min: 1, max: 86_400, unit: 'seconds' }),
        // Floored to 1 s: anyone can send unknown `kid`s, and each may trigger a fetch of the transmitter's keys.
        keysRefreshIntervalMs:
          1000 * Math.max(1, num('securityEvents.keysRefreshIntervalSeconds', s.keysRefreshIntervalSeconds, 30, { min: 0, max: 3600, unit: 'seconds' })),
      };
    }
  }

  let backchannelLogout: ResolvedOptions['backchannelLogout'] = false;
  const b = o.backchannelLogout;
  if (b !== undefined) {
    if (b === null || typeof b !== 'object') {
      problems.push('`backchannelLogout` must be an object (`{}` takes every default).');
    } else {
      const issuer = b.issuer ?? o.jwt?.issuer ?? o.expectedIssuer ?? o.issuer;
      if (typeof issuer !== 'string' || issuer.length === 0) {
        problems.push("Back-channel logout checks the logout token's `iss`: set `backchannelLogout.issuer`, `expectedIssuer` or `issuer`.");
      }
      if (b.jwksUri === undefined && o.jwt?.jwksUri === undefined && (!o.issuer || o.introspectionEndpoint !== undefined)) {
        problems.push("Back-channel logout needs the OpenID Provider's keys: set `backchannelLogout.jwksUri`, or `issuer` to discover `jwks_uri`.");
      }
      backchannelLogout = {
        issuer: issuer as string,
        audience: audiences('backchannelLogout.audience', b.audience, o.clientId),
        jwksUri: url('backchannelLogout.jwksUri', b.jwksUri),
        algorithms: checkAlgorithms('backchannelLogout.algorithms', b.algorithms, problems),
        maxAgeSeconds: num('backchannelLogout.maxAgeSeconds', b.maxAgeSeconds, 300, { min: 1, max: 86_400, unit: 'seconds' }),
        maxTokenLength: num('backchannelLogout.maxTokenLength', b.maxTokenLength, 16_384, { min: 256, max: 1_048_576, unit: 'characters', integer: true }),
      };
    }
  }
  return { securityEvents, backchannelLogout };
}
