import type { IntrospectOptions, TokenPresentation } from '../interfaces/introspection-result.interface.js';

/** A bearer token on a connection without a client certificate: the same frozen object for every such request. */
const BEARER_PRESENTATION: TokenPresentation = Object.freeze({ scheme: 'bearer' });
/** The lookup options of a plain Bearer token on a route without introspection options: one object, not one per request. */
const BEARER_LOOKUP = Object.freeze({ presentation: BEARER_PRESENTATION });

/**
 * The lookup options of a Bearer token: the route's introspection options and how the token was presented (with the
 * client certificate's thumbprint on a mutual-TLS connection, RFC 8705). On the hot path (a plain Bearer token on a
 * route without introspection options) the same frozen object every time: no allocation per request.
 */
export function bearerLookup(
  certificateThumbprint: string | undefined,
  routeOptions: IntrospectOptions | undefined,
): IntrospectOptions & { presentation: TokenPresentation } {
  const presentation: TokenPresentation = certificateThumbprint === undefined ? BEARER_PRESENTATION : { scheme: 'bearer', certificateThumbprint };
  if (routeOptions) return { ...routeOptions, presentation };
  return presentation === BEARER_PRESENTATION ? BEARER_LOOKUP : { presentation };
}
