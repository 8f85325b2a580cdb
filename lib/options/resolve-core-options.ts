import { resolveRolesOptions } from '../authorization/role-mappers.js';
import type { OutagePolicy } from '../decorators/outage-policy.decorator.js';
import type { CoreIntrospectionOptions } from './core-options.interface.js';
import type { NumberReader } from './option-readers.js';
import type { ResolvedOptions } from './resolved-options.js';

const OUTAGE_POLICIES: readonly OutagePolicy[] = ['fail-closed', 'serve-stale', 'fail-open'];

/**
 * The outage policy and the audience as configured. The composition root defaults a missing `audience` to the
 * RFC 9728 resource identifiers afterwards.
 */
export function resolveOutageAndAudience(
  o: Partial<CoreIntrospectionOptions>,
  problems: string[],
): { outagePolicy: OutagePolicy; audience: string[] | undefined } {
  const outagePolicy = o.outagePolicy ?? 'fail-closed';
  if (!OUTAGE_POLICIES.includes(outagePolicy)) {
    problems.push(`\`outagePolicy\` '${String(outagePolicy)}' is unknown: use one of ${OUTAGE_POLICIES.join(', ')}.`);
  }

  let audience: string[] | undefined;
  if (o.audience !== undefined) {
    audience = Array.isArray(o.audience) ? o.audience : [o.audience];
    if (audience.length === 0 || audience.some((a) => typeof a !== 'string' || a.length === 0)) {
      problems.push('`audience` must be a non-empty string or a non-empty list of non-empty strings (or be left out).');
    }
  }
  return { outagePolicy, audience };
}

/** What the guard and the client read of each request and answer: roles, token length, request property, realm, limits. */
export function resolveRequestOptions(
  o: Partial<CoreIntrospectionOptions>,
  problems: string[],
  num: NumberReader,
): Pick<ResolvedOptions, 'roles' | 'maxTokenLength' | 'userProperty' | 'clockSkewSeconds' | 'maxResponseBytes' | 'discoveryCacheMs'> {
  const roles = resolveRolesOptions(o.roles, problems);

  const maxTokenLength = num('maxTokenLength', o.maxTokenLength, 4096, { min: 16, max: 65_536, unit: 'characters', integer: true });
  const userProperty = o.userProperty ?? 'user';
  if (typeof userProperty !== 'string' || userProperty.length === 0) {
    problems.push("`userProperty` must be a non-empty string (the request property that receives the result, e.g. 'user').");
  }
  if (o.realm !== undefined && (typeof o.realm !== 'string' || !/^[\x20\x21\x23-\x5B\x5D-\x7E]*$/.test(o.realm))) {
    problems.push('`realm` must be printable ASCII without double quotes or backslashes (it is sent in WWW-Authenticate).');
  }
  const clockSkewSeconds = num('clockSkewSeconds', o.clockSkewSeconds, 5, { min: 0, max: 3600, unit: 'seconds' });
  const maxResponseBytes = num('maxResponseBytes', o.maxResponseBytes, 65_536, { min: 1024, max: 10 * 1024 * 1024, unit: 'bytes', integer: true });
  const discoveryCacheSeconds = num('discoveryCacheSeconds', o.discoveryCacheSeconds, 3600, { min: 1, max: 7 * 86_400, unit: 'seconds' });
  return { roles, maxTokenLength, userProperty, clockSkewSeconds, maxResponseBytes, discoveryCacheMs: discoveryCacheSeconds * 1000 };
}

/** The readiness probe of `IntrospectionHealthIndicator` (`health`). */
export function resolveHealthOptions(o: Partial<CoreIntrospectionOptions>, num: NumberReader): ResolvedOptions['health'] {
  const h = o.health ?? {};
  return {
    probeTimeoutMs: num('health.probeTimeoutMs', h.probeTimeoutMs, 1000, { min: 1, max: 60_000, unit: 'milliseconds' }),
    cacheMs: num('health.cacheMs', h.cacheMs, 5000, { min: 0, max: 600_000, unit: 'milliseconds' }),
    slowMs: num('health.slowMs', h.slowMs, 500, { min: 1, max: 60_000, unit: 'milliseconds' }),
  };
}

/** Audit hooks (`events`) and OpenTelemetry metrics (`metrics`). */
export function resolveTelemetryOptions(o: Partial<CoreIntrospectionOptions>, problems: string[]): Pick<ResolvedOptions, 'events' | 'metrics'> {
  if (o.events !== undefined && (o.events === null || typeof o.events !== 'object')) {
    problems.push('`events` must be an object of hook functions (onTokenValidated, onTokenRejected, ...).');
  } else if (o.events) {
    for (const [name, hook] of Object.entries(o.events)) {
      if (typeof hook !== 'function') problems.push(`\`events.${name}\` must be a function.`);
    }
  }
  const meterProvider = o.metrics ? o.metrics.meterProvider : undefined;
  if (meterProvider !== undefined && typeof (meterProvider as { getMeter?: unknown })?.getMeter !== 'function') {
    problems.push('`metrics.meterProvider` must be an OpenTelemetry MeterProvider (with getMeter()).');
  }
  return { events: o.events, metrics: o.metrics === false ? false : { meterProvider: o.metrics?.meterProvider } };
}

/** The start-up check (`verifyOnStartup`) and the token-type requirement (`requireTokenType`). */
export function resolveVerificationOptions(
  o: Partial<CoreIntrospectionOptions>,
  problems: string[],
): Pick<ResolvedOptions, 'verifyOnStartup' | 'requireTokenType'> {
  if (o.verifyOnStartup !== undefined && typeof o.verifyOnStartup !== 'boolean' && o.verifyOnStartup !== 'fatal') {
    problems.push("`verifyOnStartup` must be true (the default: a start-up check in the background), 'fatal' (a misconfiguration stops start-up) or false.");
  }
  if (o.requireTokenType !== undefined && typeof o.requireTokenType !== 'boolean') {
    problems.push('`requireTokenType` must be true or false.');
  }
  return {
    verifyOnStartup: o.verifyOnStartup === 'fatal' ? 'fatal' : o.verifyOnStartup !== false,
    requireTokenType: o.requireTokenType === true,
  };
}

/** Warns when nothing tells this API's tokens from any other token the authorization server knows. */
export function warnWithoutAudience(audience: readonly string[] | undefined, o: Partial<CoreIntrospectionOptions>, warnings: string[]): void {
  if (!audience && o.requireTokenType !== true) {
    warnings.push(
      'Neither `audience` nor `requireTokenType` is set: any active token the authorization server knows is accepted, ' +
        'including refresh tokens from servers that answer without a `token_type` (oidc-provider does). ' +
        "Set `audience` to this API's identifier if the AS's introspection answers carry `aud`, or `requireTokenType: true` if they carry " +
        '`token_type`; look at one answer first: a requirement the answers never meet refuses every token (reported as an error). ' +
        'If they carry neither, rely on `expectedIssuer` and scopes.',
    );
  }
}
