// npm run sample:forward-auth — nginx in front of a Python service, every request decided by the library's
// decision endpoint (ForwardAuthModule) against an embedded authorization server. Ports: NGINX_PORT (8080),
// SIDECAR_PORT (3001), SERVICE_PORT (8000), as written in sample/forward-auth/forward-auth.nginx.conf.
import { NGINX_CONF, PHANTOM_JWKS_PATH, startForwardAuthStack } from './stack.js';

const ports = {
  nginx: Number(process.env.NGINX_PORT ?? 8080),
  sidecar: Number(process.env.SIDECAR_PORT ?? 3001),
  service: Number(process.env.SERVICE_PORT ?? 8000),
};
const stack = await startForwardAuthStack(ports, process.env.HTTP_ADAPTER);
const read = await stack.as.issueToken({ scope: 'read' });
const admin = await stack.as.issueToken({ scope: 'read admin' });
const unseen = await stack.as.issueToken({ scope: 'read' });
const url = stack.url;
console.log(`
nginx ${url}  →  decision sidecar ${stack.sidecarUrl}/auth/decision  →  Python service ${stack.serviceUrl}
Authorization server (oidc-provider): ${stack.as.issuer}    nginx configuration: ${NGINX_CONF}

Try it (tokens are valid for 10 minutes):

  curl -i ${url}/orders                                                   # no token: 401 + WWW-Authenticate
  curl -i ${url}/orders -H 'Authorization: Bearer ${read}'   # 200: the service sees X-Auth-* and a phantom JWT
  curl -i ${url}/orders -H 'Authorization: Bearer ${read}' -H 'X-Auth-Subject: admin'   # the forged header is replaced
  curl -i ${url}/admin/users -H 'Authorization: Bearer ${read}'   # needs scope admin: 403 insufficient_scope
  curl -i ${url}/admin/users -H 'Authorization: Bearer ${admin}'   # 200
  curl -i ${url}/public/status                                            # a public location: 200 without a token
  curl -s ${stack.sidecarUrl}/${PHANTOM_JWKS_PATH}                 # the phantom tokens' public keys

Press Enter to stop the authorization server. Tokens already checked keep working from the sidecar's cache; one it has
not seen yet gets 503 + Retry-After (not nginx's 500):
  curl -i ${url}/orders -H 'Authorization: Bearer ${unseen}'
Ctrl+C stops everything.
`);
process.stdin.once('data', () => {
  void stack.as.stop().then(() => console.log('Authorization server stopped: try the last curl command above.'));
});
const shutdown = () => void stack.stop().then(() => process.exit(0));
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
