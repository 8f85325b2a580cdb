import { checkAlgorithms } from '../keys/jws-algorithms.js';
import type { CoreIntrospectionOptions } from '../options/core-options.interface.js';
import type { NumberReader } from '../options/option-readers.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { JwtModuleOptions } from './jwt-options.interface.js';

const MODES = ['introspect', 'local', 'local-then-introspect', 'refuse'] as const;

/**
 * The `jwt` and `signedIntrospection` options (RFC 9068 / RFC 9701): validated at start-up, each problem
 * with what to change. Local validation needs what RFC 9068 §4 needs: the issuer, this API's audience and the keys.
 */
export function resolveJwtOptions(
  o: Partial<Pick<CoreIntrospectionOptions, 'issuer' | 'expectedIssuer'>> & JwtModuleOptions,
  audience: readonly string[] | undefined,
  allowInsecureRequests: boolean,
  problems: string[],
  warnings: string[],
  num: NumberReader,
): Pick<ResolvedOptions, 'jwt' | 'keys' | 'signedIntrospection'> {
  const j = o.jwt ?? {};
  if (o.jwt !== undefined && (o.jwt === null || typeof o.jwt !== 'object')) problems.push("`jwt` must be an object, e.g. `{ mode: 'local' }`.");
  const mode = o.jwt === undefined ? 'introspect' : (j.mode ?? 'local');
  if (!MODES.includes(mode)) problems.push(`\`jwt.mode\` '${String(mode)}' is unknown: use one of ${MODES.join(', ')}.`);
  const local = mode === 'local' || mode === 'local-then-introspect';

  const algorithms = checkAlgorithms('jwt.algorithms', j.algorithms, problems);
  const issuer = j.issuer ?? o.expectedIssuer ?? o.issuer;
  if (j.issuer !== undefined && o.expectedIssuer !== undefined && j.issuer !== o.expectedIssuer) {
    problems.push('`jwt.issuer` and `expectedIssuer` differ: one authorization server issues both kinds of tokens; set only `expectedIssuer`.');
  }
  if (j.requireTyp !== undefined && typeof j.requireTyp !== 'boolean') problems.push('`jwt.requireTyp` must be true or false.');
  if (local) {
    if (!issuer) {
      problems.push(
        `\`jwt.mode: '${mode}'\` checks the token's \`iss\` (RFC 9068 §4): set \`issuer\` (also discovers the keys), \`expectedIssuer\` or \`jwt.issuer\`.`,
      );
    }
    if (!audience) {
      problems.push(
        `\`jwt.mode: '${mode}'\` checks the token's \`aud\` (RFC 9068 §4 requires it): set \`audience\` to this API's resource identifier ` +
          "(the `resource` clients request tokens for, e.g. 'https://orders.example.com').",
      );
    }
    if (!j.jwksUri && !o.issuer) {
      problems.push(`\`jwt.mode: '${mode}'\` needs the authorization server's keys: set \`jwt.jwksUri\`, or \`issuer\` to discover \`jwks_uri\`.`);
    }
  }

  let signedIntrospection: ResolvedOptions['signedIntrospection'] = false;
  const s = o.signedIntrospection;
  if (s !== undefined) {
    if (s === null || typeof s !== 'object' || (s.mode !== 'require' && s.mode !== 'prefer')) {
      problems.push("`signedIntrospection` must be `{ mode: 'require' | 'prefer' }` (RFC 9701 signed introspection responses).");
    } else {
      const sIssuer = o.expectedIssuer ?? o.issuer ?? j.issuer;
      if (!sIssuer) problems.push("`signedIntrospection` checks the response's `iss`: set `issuer` (or `expectedIssuer`).");
      if (!j.jwksUri && !o.issuer)
        problems.push("`signedIntrospection` needs the authorization server's keys: set `issuer` (discovers `jwks_uri`) or `jwt.jwksUri`.");
      signedIntrospection = {
        mode: s.mode,
        algorithms: s.algorithms !== undefined ? checkAlgorithms('signedIntrospection.algorithms', s.algorithms, problems) : algorithms,
        maxAgeSeconds: num('signedIntrospection.maxAgeSeconds', s.maxAgeSeconds, 60, { min: 1, max: 3600, unit: 'seconds' }),
        issuer: sIssuer,
      };
    }
  }

  let jwksUri: URL | undefined;
  if (j.jwksUri !== undefined) {
    try {
      jwksUri = new URL(j.jwksUri);
      if (jwksUri.protocol !== 'https:' && !(jwksUri.protocol === 'http:' && allowInsecureRequests)) {
        problems.push(`\`jwt.jwksUri\` must be https:// (keys fetched over clear text can be replaced), or set \`allowInsecureRequests\` for development.`);
      }
    } catch {
      problems.push(`\`jwt.jwksUri\` is not a valid absolute URL: '${String(j.jwksUri)}'.`);
    }
  }
  const needsKeys = local || signedIntrospection !== false;
  const keys = needsKeys
    ? {
        jwksUri,
        cacheMs: 1000 * num('jwt.keysCacheSeconds', j.keysCacheSeconds, 300, { min: 1, max: 86_400, unit: 'seconds' }),
        staleIfErrorMs: 1000 * num('jwt.keysStaleIfErrorSeconds', j.keysStaleIfErrorSeconds, 3600, { min: 0, max: 7 * 86_400, unit: 'seconds' }),
        refreshIntervalMs: 1000 * num('jwt.keysRefreshIntervalSeconds', j.keysRefreshIntervalSeconds, 30, { min: 0, max: 3600, unit: 'seconds' }),
      }
    : undefined;
  // Only when 'local' was not chosen: whoever writes `mode: 'local'` has chosen this trade-off (docs/jwt.md,
  // *Revocation latency*), and a warning at every start that nothing but another mode silences is noise.
  if (mode === 'local' && j.mode === undefined) {
    warnings.push(
      "JWT access tokens are validated locally (`jwt.mode` defaults to 'local' with `jwt`): revocation at the authorization server is not seen until they expire, " +
        'except through `evict()`/the webhook. Routes marked @RequireIntrospection() also introspect them; some authorization servers ' +
        '(oidc-provider) cannot introspect JWT access tokens (400 unsupported_token_type), and those routes then answer 503. ' +
        "Set `jwt.mode: 'local'` to keep this (and silence this warning), or choose 'local-then-introspect' or 'introspect'.",
    );
  }
  return {
    jwt: {
      mode,
      algorithms,
      issuer,
      requireTyp: j.requireTyp !== false,
      maxTokenLifetimeMs: 1000 * num('jwt.maxTokenLifetimeSeconds', j.maxTokenLifetimeSeconds, 86_400, { min: 1, max: 30 * 86_400, unit: 'seconds' }),
      verificationCacheMs: 1000 * num('jwt.verificationCacheSeconds', j.verificationCacheSeconds, 60, { min: 0, max: 86_400, unit: 'seconds' }),
    },
    keys,
    signedIntrospection,
  };
}
