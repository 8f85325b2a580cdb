/** The tests use the sample's embedded authorization server: a real oidc-provider on 127.0.0.1. */
import { CLIENTS } from '../../sample/embedded-authorization-server.js';

export {
  CLIENTS,
  SCOPES,
  JWT_RESOURCE_PREFIX,
  basic,
  EmbeddedAuthorizationServer as TestAuthorizationServer,
  type StartOptions,
  type TokenRequest,
} from '../../sample/embedded-authorization-server.js';

/**
 * The usual module options for an API in front of `as`: introspection at its endpoint over plain HTTP (loopback),
 * as the basic client (CLIENTS.basic). Spread first, then the suite's own options.
 */
export function introspectionAt(as: { introspectionEndpoint: string }) {
  return { introspectionEndpoint: as.introspectionEndpoint, allowInsecureRequests: true, ...CLIENTS.basic };
}
