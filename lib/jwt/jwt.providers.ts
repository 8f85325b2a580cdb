import type { Provider } from '@nestjs/common';
import type { IntrospectionCache } from '../cache/introspection.cache.js';
import { IntrospectionClient } from '../client/introspection.client.js';
import {
  AUTHORIZATION_SERVER_KEYS,
  INTROSPECTION_CACHE,
  JWT_ACCESS_TOKENS,
  RESOLVED_OPTIONS,
  RESPONSE_OPENER,
  SHARED_STATE,
} from '../introspection.constants.js';
import type { SharedState } from '../cache/shared-state.js';
import type { AuthorizationServerKeys } from '../keys/authorization-server-keys.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { JwtAccessTokenValidator } from './jwt-access-token.validator.js';
import { JwtAccessTokens } from './jwt-access-tokens.js';
import { SignedIntrospectionOpener } from './signed-introspection.js';

/**
 * The RFC 9701 opener, attached to the client here, explicitly (null when `signedIntrospection` is off); the client also
 * refuses plain JSON while `signedIntrospection` is on and no opener is attached, so a lost wiring fails closed.
 */
export function createResponseOpener(
  options: ResolvedOptions,
  client: IntrospectionClient,
  keys: AuthorizationServerKeys | null,
): SignedIntrospectionOpener | null {
  if (!options.signedIntrospection || !keys) return null;
  const opener = new SignedIntrospectionOpener(options, options.signedIntrospection, keys);
  client.responseOpener = opener;
  return opener;
}

/** JWT access tokens as the engine's `TokenPath`, or null with `jwt.mode: 'introspect'`. */
export function createJwtPath(
  options: ResolvedOptions,
  keys: AuthorizationServerKeys | null,
  cache: IntrospectionCache | null,
  state: SharedState,
): JwtAccessTokens | null {
  if (options.jwt.mode === 'introspect') return null;
  const validator = keys && options.jwt.mode !== 'refuse' ? new JwtAccessTokenValidator(options, keys) : undefined;
  return new JwtAccessTokens(options, validator, cache, state);
}

/**
 * JWT access tokens (RFC 9068) as the engine's `TokenPath` (`JWT_ACCESS_TOKENS`), and RFC 9701 signed introspection
 * responses as the client's `ResponseOpener` (`RESPONSE_OPENER`).
 */
export const jwtProviders: Provider[] = [
  {
    provide: RESPONSE_OPENER,
    useFactory: createResponseOpener,
    inject: [RESOLVED_OPTIONS, IntrospectionClient, AUTHORIZATION_SERVER_KEYS],
  },
  {
    provide: JWT_ACCESS_TOKENS,
    useFactory: createJwtPath,
    inject: [RESOLVED_OPTIONS, AUTHORIZATION_SERVER_KEYS, INTROSPECTION_CACHE, SHARED_STATE],
  },
];
