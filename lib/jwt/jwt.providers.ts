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
 * JWT access tokens (RFC 9068) as the engine's `TokenPath` (`JWT_ACCESS_TOKENS`), and RFC 9701 signed introspection
 * responses as the client's `ResponseOpener` (`RESPONSE_OPENER`).
 */
export const jwtProviders: Provider[] = [
  {
    // Attached to the client here, explicitly; the client also refuses plain JSON while `signedIntrospection` is on
    // and no opener is attached, so a lost wiring fails closed.
    provide: RESPONSE_OPENER,
    useFactory: (options: ResolvedOptions, client: IntrospectionClient, keys: AuthorizationServerKeys | null) => {
      if (!options.signedIntrospection || !keys) return null;
      const opener = new SignedIntrospectionOpener(options, options.signedIntrospection, keys);
      client.responseOpener = opener;
      return opener;
    },
    inject: [RESOLVED_OPTIONS, IntrospectionClient, AUTHORIZATION_SERVER_KEYS],
  },
  {
    provide: JWT_ACCESS_TOKENS,
    useFactory: (options: ResolvedOptions, keys: AuthorizationServerKeys | null, cache: IntrospectionCache | null, state: SharedState) => {
      if (options.jwt.mode === 'introspect') return null;
      const validator = keys && options.jwt.mode !== 'refuse' ? new JwtAccessTokenValidator(options, keys) : undefined;
      return new JwtAccessTokens(options, validator, cache, state);
    },
    inject: [RESOLVED_OPTIONS, AUTHORIZATION_SERVER_KEYS, INTROSPECTION_CACHE, SHARED_STATE],
  },
];
