import { hash } from 'node:crypto';
import { IntrospectionConfigurationError } from '../errors/introspection.errors.js';
import type {
  ClientAuthMethod,
  IntrospectionCacheOptions,
  IntrospectionModuleOptions,
  OutagePolicy,
} from '../interfaces/introspection-module-options.interface.js';
import { resolveJwtOptions } from '../jwt/resolve-jwt-options.js';
import { resolveSenderConstraintOptions } from '../dpop/resolve-dpop-options.js';
import { resolveTokenSourceOptions } from './resolve-token-sources.js';
import { resolveResourceMetadata } from '../metadata/resource-metadata.js';
import { resolveRolesOptions } from '../authorization/role-mappers.js';
import { resolvePushOptions } from '../push/resolve-push-options.js';
import type { ResolvedOptions } from './resolved-options.js';

const AUTH_METHODS: readonly ClientAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'client_credentials_bearer',
];
const OUTAGE_POLICIES: readonly OutagePolicy[] = ['fail-closed', 'serve-stale', 'fail-open'];

/**
 * Validates the module options once, at start-up, and fills in defaults. Every problem found is
 * reported together, each with what to change, so one restart fixes them all.
 */
export function resolveOptions(options: IntrospectionModuleOptions | undefined): ResolvedOptions {
  const problems: string[] = [];
  const warnings: string[] = [];
  const o = (options ?? {}) as Partial<IntrospectionModuleOptions>;
  const allowInsecureRequests = o.allowInsecureRequests === true;

  const introspectionEndpoint = o.introspectionEndpoint
    ? parseUrl('introspectionEndpoint', o.introspectionEndpoint, allowInsecureRequests, problems)
    : undefined;
  let issuer: string | undefined;
  if (o.issuer !== undefined) {
    if (parseUrl('issuer', o.issuer, allowInsecureRequests, problems)) issuer = o.issuer;
  }
  if (!o.introspectionEndpoint && !o.issuer) {
    problems.push(
      'Neither `introspectionEndpoint` nor `issuer` is set. Set `introspectionEndpoint` to the RFC 7662 endpoint ' +
        "(e.g. 'https://auth.example.com/oauth2/introspect'), or `issuer` to let the endpoint be discovered.",
    );
  }

  if (typeof o.clientId !== 'string' || o.clientId.length === 0) {
    problems.push('`clientId` is missing: set it to the client id this API uses at the authorization server.');
  }
  const clientAuthMethod = o.clientAuthMethod ?? 'client_secret_basic';
  if (!AUTH_METHODS.includes(clientAuthMethod)) {
    problems.push(`\`clientAuthMethod\` '${String(clientAuthMethod)}' is unknown: use one of ${AUTH_METHODS.join(', ')}.`);
  } else if (clientAuthMethod === 'client_credentials_bearer') {
    if (!o.privateKey && (typeof o.clientSecret !== 'string' || o.clientSecret.length === 0)) {
      problems.push(
        "`clientAuthMethod: 'client_credentials_bearer'` needs `clientSecret` (or `privateKey`) to obtain the API's own access token.",
      );
    }
    if (!o.tokenEndpoint && !o.issuer) {
      problems.push(
        "`clientAuthMethod: 'client_credentials_bearer'` needs the token endpoint: set `tokenEndpoint`, or `issuer` to discover it.",
      );
    }
    if (o.tokenEndpoint !== undefined) parseUrl('tokenEndpoint', o.tokenEndpoint, allowInsecureRequests, problems);
  } else if (clientAuthMethod === 'private_key_jwt') {
    if (!o.privateKey) {
      problems.push("`clientAuthMethod: 'private_key_jwt'` needs `privateKey` (a private JWK, a PKCS#8 PEM string or a KeyObject).");
    }
  } else if (typeof o.clientSecret !== 'string' || o.clientSecret.length === 0) {
    problems.push(
      `\`clientAuthMethod: '${clientAuthMethod}'\` needs \`clientSecret\`: set it (e.g. from an environment variable), ` +
        "or use `clientAuthMethod: 'private_key_jwt'` with `privateKey`.",
    );
  }
  const jwk = typeof o.privateKey === 'object' && o.privateKey !== null && 'kty' in o.privateKey ? o.privateKey : undefined;

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
  // RFC 9728: the resource identifiers double as the expected audience when `audience` is not set.
  const resourceMetadata = resolveResourceMetadata(o.resourceMetadata, o.expectedIssuer ?? issuer, allowInsecureRequests, problems, warnings);
  const audienceExplicit = audience !== undefined;
  if (!audience && resourceMetadata.length > 0) audience = resourceMetadata.map((r) => r.resource);
  const roles = resolveRolesOptions(o.roles, problems);

  const num = numberReader(problems);
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

  const r = o.resilience ?? {};
  const attemptTimeoutMs = num('resilience.attemptTimeoutMs', r.attemptTimeoutMs, 2000, { min: 1, max: 120_000, unit: 'milliseconds' });
  const deadlineMs = num('resilience.deadlineMs', r.deadlineMs, Math.max(5000, attemptTimeoutMs), { min: 1, max: 300_000, unit: 'milliseconds' });
  if (deadlineMs < attemptTimeoutMs) {
    problems.push(
      `\`resilience.deadlineMs\` (${deadlineMs} ms) is shorter than \`resilience.attemptTimeoutMs\` (${attemptTimeoutMs} ms): ` +
        'the overall deadline must leave room for at least one attempt. Raise deadlineMs or lower attemptTimeoutMs.',
    );
  }
  const retries = num('resilience.retries', r.retries, 2, { min: 0, max: 10, unit: 'retries', integer: true });
  const retryInitialDelayMs = num('resilience.retryInitialDelayMs', r.retryInitialDelayMs, 50, { min: 0, max: 60_000, unit: 'milliseconds' });
  const retryMaxDelayMs = num('resilience.retryMaxDelayMs', r.retryMaxDelayMs, Math.max(1000, retryInitialDelayMs), { min: 0, max: 300_000, unit: 'milliseconds' });
  if (retryMaxDelayMs < retryInitialDelayMs) {
    problems.push('`resilience.retryMaxDelayMs` is smaller than `resilience.retryInitialDelayMs`: make it at least as large.');
  }
  let circuitBreaker: ResolvedOptions['resilience']['circuitBreaker'] = false;
  if (r.circuitBreaker !== false) {
    const cb = r.circuitBreaker ?? {};
    circuitBreaker = {
      consecutiveFailures: num('resilience.circuitBreaker.consecutiveFailures', cb.consecutiveFailures, 5, { min: 1, max: 1000, unit: 'lookup-equivalents', integer: true }),
      halfOpenAfterMs: num('resilience.circuitBreaker.halfOpenAfterMs', cb.halfOpenAfterMs, 5000, { min: 1, max: 3_600_000, unit: 'milliseconds' }),
    };
  }
  const maxConcurrentCalls = num('resilience.maxConcurrentCalls', r.maxConcurrentCalls, 32, { min: 1, max: 10_000, unit: 'calls', integer: true });
  const maxQueuedCalls = num('resilience.maxQueuedCalls', r.maxQueuedCalls, 1000, { min: 0, max: 1_000_000, unit: 'calls', integer: true });
  const retryAfterSeconds = num('resilience.retryAfterSeconds', r.retryAfterSeconds, 5, { min: 1, max: 86_400, unit: 'seconds', integer: true });
  const reservedCallsForKnownTokens = num('resilience.reservedCallsForKnownTokens', r.reservedCallsForKnownTokens, Math.floor(maxConcurrentCalls / 4), {
    min: 0, max: Math.max(0, maxConcurrentCalls - 1), unit: 'calls (fewer than maxConcurrentCalls)', integer: true,
  });
  const maxRetryAfterSeconds = num('resilience.maxRetryAfterSeconds', r.maxRetryAfterSeconds, 300, { min: 1, max: 86_400, unit: 'seconds', integer: true });

  const h = o.health ?? {};
  const health = {
    probeTimeoutMs: num('health.probeTimeoutMs', h.probeTimeoutMs, 1000, { min: 1, max: 60_000, unit: 'milliseconds' }),
    cacheMs: num('health.cacheMs', h.cacheMs, 5000, { min: 0, max: 600_000, unit: 'milliseconds' }),
    slowMs: num('health.slowMs', h.slowMs, 500, { min: 1, max: 60_000, unit: 'milliseconds' }),
  };

  const cacheNamespace = `${o.introspectionEndpoint ?? o.issuer}\u0000${o.clientId}`;
  let cache: ResolvedOptions['cache'] = false;
  if (o.cache !== false) {
    const c = o.cache ?? {};
    // Isolates this service in a shared store: by default one namespace per authorization server + client id.
    const keyPrefix = c.keyPrefix ?? `token-introspection:${hash('sha256', cacheNamespace, 'base64url').slice(0, 12)}`;
    if (typeof keyPrefix !== 'string' || !/^[\x21-\x7E]{1,128}$/.test(keyPrefix) || /[*?[\]]/.test(keyPrefix)) {
      problems.push('`cache.keyPrefix` must be 1–128 printable ASCII characters without spaces or glob characters (* ? [ ]), e.g. \'orders-api\'.');
    }
    if (c.indexSecret !== undefined && (typeof c.indexSecret !== 'string' || c.indexSecret.length < 16)) {
      problems.push('`cache.indexSecret` must be a string of at least 16 characters, the same on every replica (generate a random one).');
    }
    if (c.store !== undefined && (c.store === null || typeof c.store !== 'object')) {
      problems.push('`cache.store` must be a Keyv instance, a Keyv storage adapter, or an array of them.');
    }
    let redis: { url: string; channel: string } | undefined;
    if (c.redis !== undefined) {
      const url = typeof c.redis === 'string' ? c.redis : c.redis?.url;
      if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) {
        problems.push("`cache.redis` must be a redis:// or rediss:// URL, or `{ url, channel? }`.");
      } else {
        redis = { url, channel: (typeof c.redis === 'object' && c.redis.channel) || `${namespaceOf(keyPrefix)}:evictions` };
      }
      if (c.store !== undefined) problems.push('Give either `cache.redis` or `cache.store`, not both.');
    }
    cache = {
      redis,
      localTtlMs: 1000 * num('cache.localTtlSeconds', c.localTtlSeconds, redis ? 5 : 0, { min: 0, max: 3600, unit: 'seconds' }),
      ttlMs: 1000 * num('cache.ttlSeconds', c.ttlSeconds, 60, { min: 0, max: 86_400, unit: 'seconds' }),
      negativeTtlMs: 1000 * num('cache.negativeTtlSeconds', c.negativeTtlSeconds, 10, { min: 0, max: 3600, unit: 'seconds' }),
      staleIfErrorMs: 1000 * num('cache.staleIfErrorSeconds', c.staleIfErrorSeconds, 300, { min: 0, max: 86_400, unit: 'seconds' }),
      maxEntries: num('cache.maxEntries', c.maxEntries, 10_000, { min: 1, max: 10_000_000, unit: 'entries', integer: true }),
      maxNegativeEntries: num('cache.maxNegativeEntries', c.maxNegativeEntries, 10_000, { min: 1, max: 10_000_000, unit: 'entries', integer: true }),
      store: c.store,
      storeTimeoutMs: num('cache.storeTimeoutMs', c.storeTimeoutMs, 100, { min: 1, max: 60_000, unit: 'milliseconds' }),
      keyPrefix,
      namespace: namespaceOf(keyPrefix),
      indexSecret: c.indexSecret,
      revalidation: resolveRevalidation(c.revalidation, maxConcurrentCalls, problems, num),
    };
  }
  if (outagePolicy === 'serve-stale' && (cache === false || cache.staleIfErrorMs === 0)) {
    problems.push(
      "`outagePolicy: 'serve-stale'` needs cached results to serve: enable `cache` and set `cache.staleIfErrorSeconds` above 0 " +
        "(or choose `outagePolicy: 'fail-closed'`).",
    );
  }

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

  if (o.revocationWebhookSecret !== undefined && (typeof o.revocationWebhookSecret !== 'string' || o.revocationWebhookSecret.length < 16)) {
    problems.push('`revocationWebhookSecret` must be a string of at least 16 characters (generate a random one).');
  }

  if (o.verifyOnStartup !== undefined && typeof o.verifyOnStartup !== 'boolean' && o.verifyOnStartup !== 'fatal') {
    problems.push("`verifyOnStartup` must be true (the default: a start-up check in the background), 'fatal' (a misconfiguration stops start-up) or false.");
  }
  if (o.requireTokenType !== undefined && typeof o.requireTokenType !== 'boolean') {
    problems.push('`requireTokenType` must be true or false.');
  }
  const clientSecretBasicEncoding = o.clientSecretBasicEncoding ?? 'form-urlencoded';
  if (clientSecretBasicEncoding !== 'form-urlencoded' && clientSecretBasicEncoding !== 'raw') {
    problems.push("`clientSecretBasicEncoding` must be 'form-urlencoded' (RFC 6749 §2.3.1, the default) or 'raw'.");
  }

  if (cache && cache.store !== undefined && cache.localTtlMs > 0) {
    warnings.push(
      '`cache.localTtlSeconds` is above 0 with a plain `cache.store`: evictions cannot reach the other replicas\' in-process copies, ' +
        'so an evicted token may be accepted there for up to that long. Use `cache.redis` (it broadcasts evictions), or keep localTtlSeconds at 0.',
    );
  }
  if (!audience && o.requireTokenType !== true) {
    warnings.push(
      'Neither `audience` nor `requireTokenType` is set: any active token the authorization server knows is accepted, ' +
        'including refresh tokens from servers that answer without a `token_type` (oidc-provider does). ' +
        "Set `audience` to this API's identifier if the AS's introspection answers carry `aud`, or `requireTokenType: true` if they carry " +
        '`token_type`; look at one answer first: a requirement the answers never meet refuses every token (reported as an error). ' +
        'If they carry neither, rely on `expectedIssuer` and scopes.',
    );
  }

  const jose = resolveJwtOptions(o, audience, allowInsecureRequests, problems, warnings, num);
  const senderConstraints = resolveSenderConstraintOptions(o, problems, num);
  const tokenSourceOptions = resolveTokenSourceOptions(o, problems, warnings, num);
  const push = resolvePushOptions(o, allowInsecureRequests, problems, num);
  if (senderConstraints.dpop && typeof o.dpop === 'object' && !senderConstraints.dpop.externalOrigin && !senderConstraints.dpop.trustForwardedHeaders) {
    warnings.push(
      'DPoP is configured without `dpop.externalOrigin`: the origin a proof must name (`htu`) is taken from the request\'s Host header, ' +
        'which the client chooses — a proof made for another resource server that accepts the same token could be replayed here. ' +
        "Set `dpop.externalOrigin` to this API's public origin (e.g. 'https://api.example.com').",
    );
  }

  // DPoP tokens travel only as `Authorization: DPoP <token>` (RFC 9449 §7.1); other sources are read as bearer tokens.
  if (senderConstraints.dpop && typeof o.dpop === 'object' && o.dpop !== null && tokenSourceOptions.tokenSources &&
      !tokenSourceOptions.tokenSources.some((source) => source.in === 'authorization')) {
    const fix = "add { in: 'header' } (the Authorization header) to `tokenSources`";
    if (senderConstraints.dpop.required) {
      problems.push(`\`dpop.required\` is set but \`tokenSources\` leaves out the Authorization header, the only place a DPoP token can be sent (RFC 9449 §7.1): every request would be refused. ${fix}, or drop \`dpop.required\`.`);
    } else {
      warnings.push(`DPoP is configured but \`tokenSources\` leaves out the Authorization header, the only place a DPoP token can be sent (RFC 9449 §7.1): DPoP clients cannot call this API. ${fix}, or set \`dpop: false\`.`);
    }
  }

  if (problems.length > 0) {
    throw new IntrospectionConfigurationError(
      `Invalid IntrospectionModule options:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }

  return {
    introspectionEndpoint,
    issuer,
    cacheNamespace,
    clientId: o.clientId!,
    clientSecret: o.clientSecret,
    clientAuthMethod,
    privateKey: o.privateKey,
    privateKeyAlgorithm: o.privateKeyAlgorithm ?? (jwk?.alg as string | undefined) ?? 'RS256',
    privateKeyId: o.privateKeyId ?? (jwk?.kid as string | undefined),
    tokenEndpoint: o.tokenEndpoint,
    tokenScope: o.tokenScope,
    purgeCacheOnAuthorizationServerReset: o.purgeCacheOnAuthorizationServerReset === true,
    revocationWebhookSecret: o.revocationWebhookSecret,
    allowInsecureRequests,
    globalGuard: o.globalGuard !== false,
    realm: o.realm,
    exposeOutageReason: o.exposeOutageReason === true,
    maxTokenLength,
    userProperty,
    outagePolicy,
    audience,
    audienceExplicit,
    resourceMetadata,
    roles,
    expectedIssuer: o.expectedIssuer,
    requireTokenType: o.requireTokenType === true,
    clientSecretBasicEncoding,
    warnings,
    clockSkewSeconds,
    ...jose,
    maxResponseBytes,
    discoveryCacheMs: discoveryCacheSeconds * 1000,
    cache,
    resilience: {
      attemptTimeoutMs,
      deadlineMs,
      retries,
      retryInitialDelayMs,
      retryMaxDelayMs,
      circuitBreaker,
      maxConcurrentCalls,
      maxQueuedCalls,
      retryAfterSeconds,
      reservedCallsForKnownTokens,
      maxRetryAfterSeconds,
    },
    health,
    metrics: o.metrics === false ? false : { meterProvider: o.metrics?.meterProvider },
    events: o.events,
    httpAgent: o.httpAgent,
    httpsAgent: o.httpsAgent,
    verifyOnStartup: o.verifyOnStartup === 'fatal' ? 'fatal' : o.verifyOnStartup !== false,
    ...senderConstraints,
    ...tokenSourceOptions,
    ...push,
  };
}

/** Background re-introspection bounds (refresh-ahead, re-checks), validated against the bulkhead they share. */
function resolveRevalidation(
  value: unknown,
  maxConcurrentCalls: number,
  problems: string[],
  num: ReturnType<typeof numberReader>,
): Exclude<ResolvedOptions['cache'], false>['revalidation'] {
  if (value !== undefined && (value === null || typeof value !== 'object')) {
    problems.push('`cache.revalidation` must be an object: { refreshAheadWindow?, recheckFraction?, maxConcurrent?, maxPerSecond? }.');
    value = {};
  }
  const v = (value ?? {}) as NonNullable<IntrospectionCacheOptions['revalidation']>;
  const maxConcurrent = num('cache.revalidation.maxConcurrent', v.maxConcurrent, Math.min(4, maxConcurrentCalls), {
    min: 1, max: 1000, unit: 'lookups', integer: true,
  });
  if (maxConcurrent > maxConcurrentCalls) {
    problems.push(
      `\`cache.revalidation.maxConcurrent\` (${maxConcurrent}) is above \`resilience.maxConcurrentCalls\` (${maxConcurrentCalls}): ` +
        'background lookups could take every call to the authorization server. Lower it.',
    );
  }
  return {
    refreshAheadWindow: num('cache.revalidation.refreshAheadWindow', v.refreshAheadWindow, 0.2, { min: 0, max: 0.9, unit: 'TTL fraction' }),
    recheckFraction: num('cache.revalidation.recheckFraction', v.recheckFraction, 0, { min: 0, max: 1, unit: 'cache-hit fraction' }),
    maxConcurrent,
    maxPerSecond: num('cache.revalidation.maxPerSecond', v.maxPerSecond, 50, { min: 0.1, max: 100_000, unit: 'lookups per second' }),
  };
}

/** The Redis/Keyv namespace of a key prefix: trailing separators dropped (Keyv adds '::'). */
function namespaceOf(keyPrefix: string): string {
  return keyPrefix.replace(/:+$/, '') || keyPrefix;
}

function parseUrl(name: string, value: unknown, allowInsecure: boolean, problems: string[]): URL | undefined {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    problems.push(`\`${name}\` is not a valid absolute URL: '${String(value)}'.`);
    return undefined;
  }
  if (url.protocol === 'http:' && !allowInsecure) {
    problems.push(
      `\`${name}\` uses http:// ('${url.origin}'): tokens and client credentials would travel in clear text. ` +
        'Use https://, or set `allowInsecureRequests: true` for local development only.',
    );
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    problems.push(`\`${name}\` must be an https:// URL, not '${url.protocol}'.`);
    return undefined;
  }
  return url;
}

function numberReader(problems: string[]) {
  return (
    name: string,
    value: unknown,
    fallback: number,
    rule: { min: number; max: number; unit: string; integer?: boolean },
  ): number => {
    if (value === undefined) return fallback;
    const ok =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      value >= rule.min &&
      value <= rule.max &&
      (!rule.integer || Number.isInteger(value));
    if (!ok) {
      problems.push(
        `\`${name}\` is ${JSON.stringify(value)}: it must be ${rule.integer ? 'a whole number' : 'a number'} of ${rule.unit} ` +
          `between ${rule.min} and ${rule.max}.`,
      );
      return fallback;
    }
    return value;
  };
}
