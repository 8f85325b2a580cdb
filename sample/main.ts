import { bootstrap } from './bootstrap.js';

const { url, embedded, app } = await bootstrap();
const adapter = app.getHttpAdapter().getType();
console.log(`\nOrders API listening on ${url} (${adapter})`);
if (embedded) {
  const read = await embedded.issueToken({ scope: 'read' });
  const write = await embedded.issueToken({ scope: 'read write' });
  const { env, tokenCommand } = embedded.connectionInfo();
  console.log(`Embedded authorization server (oidc-provider): ${embedded.issuer}\n`);
  console.log('Try it (tokens are valid for 10 minutes):\n');
  console.log(`  curl -i ${url}/                                              # public: 200`);
  console.log(`  curl -i ${url}/orders                                        # no token: 401`);
  console.log(`  curl -i ${url}/orders -H 'Authorization: Bearer ${read}'   # scope read: 200`);
  console.log(`  curl -i -X POST ${url}/orders -H 'Authorization: Bearer ${read}'   # needs write: 403`);
  console.log(`  curl -i -X POST ${url}/orders -H 'Authorization: Bearer ${write}'   # read write: 201`);
  console.log(`  curl -i ${url}/orders/stock -H 'Authorization: Bearer ${read}'   # a phantom token to the internal stock service: 200`);
  console.log(`  curl -s ${url}/.well-known/phantom-jwks.json                  # the phantom tokens' public keys`);
  console.log(`  curl -i ${url}/health/ready                                  # readiness: authorization server up?`);
  console.log('\nA new token (client application `app`; scopes read, write, admin):');
  console.log(`  ${tokenCommand}`);
  console.log("\nPoint another app at this authorization server (the API's own introspection credentials, client_secret_basic):");
  console.log(
    `  ${Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  console.log(`  introspection endpoint: ${embedded.introspectionEndpoint}\n`);
} else {
  console.log(`Authorization server: ${process.env.AUTH_ISSUER ?? process.env.AUTH_INTROSPECTION_ENDPOINT}\n`);
}
