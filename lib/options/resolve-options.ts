import { IntrospectionConfigurationError } from '../errors/introspection.errors.js';
import type { IntrospectionModuleOptions } from '../interfaces/introspection-module-options.interface.js';
import { resolveJwtOptions } from '../jwt/resolve-jwt-options.js';
import { checkDpopDelivery, resolveSenderConstraintOptions } from '../dpop/resolve-dpop-options.js';
import { resolveTokenSourceOptions } from './resolve-token-sources.js';
import { resolveResourceMetadata } from '../metadata/resource-metadata.js';
import { resolvePushOptions, resolveRevocationWebhookOptions } from '../push/resolve-push-options.js';
import { numberReader } from './option-readers.js';
import { resolveClientOptions, resolveClientSecretBasicEncoding } from './resolve-client-options.js';
import {
  resolveHealthOptions,
  resolveOutageAndAudience,
  resolveRequestOptions,
  resolveTelemetryOptions,
  resolveVerificationOptions,
  warnWithoutAudience,
} from './resolve-core-options.js';
import { resolveResilienceOptions } from './resolve-resilience-options.js';
import { resolveCacheOptions } from './resolve-cache-options.js';
import { checkTenants } from '../tenants/check-tenants.js';
import { compileTenantSelector } from '../tenants/tenant-selector.js';
import { tenantView } from '../tenants/tenant-view.js';
import type { ResolvedOptions } from './resolved-options.js';
import { providePresentation } from '../ports.js';
import { provideContextAuthorizer } from '../guard/context-authorizer.js';
import { DpopPresentation } from '../dpop/dpop-presentation.js';
import { createContextAuthorizer } from '../connections/connections.providers.js';

// The capabilities TokenGuard reaches through ports rather than imports (the core imports no capability): registered
// here, in the composition root every path to resolved options loads, so that every guard — built by Nest or by hand,
// given the module's options or a copy — has them. Without them it fails closed (DPoP and non-HTTP contexts refused).
providePresentation((proofs) => new DpopPresentation(proofs));
provideContextAuthorizer(createContextAuthorizer);

/**
 * Validates the module options once, at start-up, and fills in defaults. Every problem found is
 * reported together, each with what to change, so one restart fixes them all.
 *
 * The composition root of the options: the core's resolvers, each capability's resolver, then the checks across
 * them. The calls run in the order the problems and warnings have always been listed in; keep it.
 */
export function resolveOptions(options: IntrospectionModuleOptions | undefined): ResolvedOptions {
  const problems: string[] = [];
  const warnings: string[] = [];
  const o = (options ?? {}) as Partial<IntrospectionModuleOptions>;
  const resolved =
    o.tenants === undefined && o.tenantResolver === undefined && o.health?.readiness === undefined
      ? resolveServer(o, problems, warnings)
      : resolveTenants(o, problems, warnings);
  if (problems.length > 0) {
    throw new IntrospectionConfigurationError(`Invalid IntrospectionModule options:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  return resolved!;
}

/**
 * `tenants`: each tenant resolved like a single-tenant module's options (`tenantView`: the shared defaults, the
 * tenant's own on top), its problems and warnings prefixed with `tenants.<name>`. The module's own options are the
 * first tenant's, without anything that would reach an authorization server (the tenants' engines do that).
 */
function resolveTenants(o: Partial<IntrospectionModuleOptions>, problems: string[], warnings: string[]): ResolvedOptions | undefined {
  const names = checkTenants(o, problems);
  const tenants = new Map<string, ResolvedOptions>();
  const issuers = new Map<string, string>();
  for (const name of names) {
    const own: string[] = [];
    const ownWarnings: string[] = [];
    const resolved = resolveServer(tenantView(o, name), own, ownWarnings);
    problems.push(...own.map((p) => `tenants.${name}: ${p}`));
    warnings.push(...ownWarnings.map((w) => `tenants.${name}: ${w}`));
    tenants.set(name, { ...resolved, tenant: name });
    const issuer = resolved.jwt.issuer;
    if (issuer !== undefined) {
      const other = issuers.get(issuer);
      if (other !== undefined && typeof o.tenantResolver === 'object' && o.tenantResolver?.jwtIssuer === true) {
        problems.push(`Tenants '${other}' and '${name}' have the same issuer '${issuer}': \`tenantResolver.jwtIssuer\` could not tell them apart.`);
      }
      if (other === undefined) issuers.set(issuer, name);
    }
  }
  const jwtIssuer = typeof o.tenantResolver === 'object' && o.tenantResolver?.jwtIssuer === true;
  if (jwtIssuer && names.length > 0 && issuers.size === 0 && problems.length === 0) {
    problems.push(
      '`tenantResolver.jwtIssuer` needs a tenant with an issuer (`issuer`, `expectedIssuer` or `jwt.issuer`): no tenant has one, so no token could select one.',
    );
  }
  if (problems.length > 0 || names.length === 0) return undefined;
  const first = tenants.get(names[0])!;
  return {
    ...first,
    tenant: undefined,
    jwt: { ...first.jwt, mode: 'introspect' },
    keys: undefined,
    signedIntrospection: false,
    warnings,
    tenants: {
      names,
      options: tenants,
      select: compileTenantSelector(o.tenantResolver!, new Set(names), issuers),
      readiness: o.health?.readiness ?? 'any',
    },
  };
}

/** One authorization server's options: the module's without `tenants`, or one tenant's view. */
function resolveServer(o: Partial<IntrospectionModuleOptions>, problems: string[], warnings: string[]): ResolvedOptions {
  const allowInsecureRequests = o.allowInsecureRequests === true;
  const num = numberReader(problems);

  const client = resolveClientOptions(o, allowInsecureRequests, problems);
  const { outagePolicy, audience: configuredAudience } = resolveOutageAndAudience(o, problems);
  // RFC 9728: the resource identifiers double as the expected audience when `audience` is not set.
  const resourceMetadata = resolveResourceMetadata(o.resourceMetadata, o.expectedIssuer ?? client.issuer, allowInsecureRequests, problems, warnings);
  const audienceExplicit = configuredAudience !== undefined;
  const audience = configuredAudience ?? (resourceMetadata.length > 0 ? resourceMetadata.map((r) => r.resource) : undefined);
  const request = resolveRequestOptions(o, problems, num);
  const resilience = resolveResilienceOptions(o.resilience ?? {}, problems, num);
  const health = resolveHealthOptions(o, num);
  const cache = resolveCacheOptions(o, outagePolicy, resilience.maxConcurrentCalls, problems, warnings, num);
  const telemetry = resolveTelemetryOptions(o, problems);
  const webhook = resolveRevocationWebhookOptions(o, problems);
  const verification = resolveVerificationOptions(o, problems);
  const clientSecretBasicEncoding = resolveClientSecretBasicEncoding(o, problems);
  warnWithoutAudience(audience, o, warnings);

  const jose = resolveJwtOptions(o, audience, allowInsecureRequests, problems, warnings, num);
  const senderConstraints = resolveSenderConstraintOptions(o, problems, num);
  const tokenSourceOptions = resolveTokenSourceOptions(o, problems, warnings, num);
  const push = resolvePushOptions(o, allowInsecureRequests, problems, num);

  // Across capabilities: DPoP against the token sources.
  checkDpopDelivery(o, senderConstraints, tokenSourceOptions, problems, warnings);

  return {
    introspectionEndpoint: client.introspectionEndpoint,
    issuer: client.issuer,
    cacheNamespace: cache.cacheNamespace,
    clientId: o.clientId!,
    clientSecret: o.clientSecret,
    clientAuthMethod: client.clientAuthMethod,
    privateKey: o.privateKey,
    privateKeyAlgorithm: client.privateKeyAlgorithm,
    privateKeyId: client.privateKeyId,
    tokenEndpoint: o.tokenEndpoint,
    tokenScope: o.tokenScope,
    purgeCacheOnAuthorizationServerReset: o.purgeCacheOnAuthorizationServerReset === true,
    revocationWebhookSecret: webhook.revocationWebhookSecret,
    allowInsecureRequests,
    globalGuard: o.globalGuard !== false,
    realm: o.realm,
    exposeOutageReason: o.exposeOutageReason === true,
    maxTokenLength: request.maxTokenLength,
    userProperty: request.userProperty,
    outagePolicy,
    audience,
    audienceExplicit,
    resourceMetadata,
    roles: request.roles,
    expectedIssuer: o.expectedIssuer,
    requireTokenType: verification.requireTokenType,
    clientSecretBasicEncoding,
    warnings,
    clockSkewSeconds: request.clockSkewSeconds,
    ...jose,
    maxResponseBytes: request.maxResponseBytes,
    discoveryCacheMs: request.discoveryCacheMs,
    cache: cache.cache,
    resilience,
    health,
    metrics: telemetry.metrics,
    events: telemetry.events,
    httpAgent: o.httpAgent,
    httpsAgent: o.httpsAgent,
    verifyOnStartup: verification.verifyOnStartup,
    ...senderConstraints,
    ...tokenSourceOptions,
    ...push,
  };
}
