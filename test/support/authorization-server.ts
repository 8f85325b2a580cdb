/** The tests use the sample's embedded authorization server: a real oidc-provider on 127.0.0.1. */
export {
  CLIENTS,
  SCOPES,
  JWT_RESOURCE_PREFIX,
  basic,
  EmbeddedAuthorizationServer as TestAuthorizationServer,
  type StartOptions,
  type TokenRequest,
} from '../../sample/embedded-authorization-server.js';
