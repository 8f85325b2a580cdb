import { CLIENTS } from './embedded-authorization-server.js';
import { bootstrap } from './bootstrap.js';

const { url, embedded, app } = await bootstrap();
const adapter = app.getHttpAdapter().getType();
console.log(`\nOrders API listening on ${url} (${adapter})`);
if (embedded) {
  const read = await embedded.issueToken({ scope: 'read' });
  const write = await embedded.issueToken({ scope: 'read write' });
  const { clientId, clientSecret } = CLIENTS.app;
  console.log(`Embedded authorization server (oidc-provider): ${embedded.issuer}\n`);
  console.log('Try it (tokens are valid for 10 minutes):\n');
  console.log(`  curl -i ${url}/                                              # public: 200`);
  console.log(`  curl -i ${url}/orders                                        # no token: 401`);
  console.log(`  curl -i ${url}/orders -H 'Authorization: Bearer ${read}'   # scope read: 200`);
  console.log(`  curl -i -X POST ${url}/orders -H 'Authorization: Bearer ${read}'   # needs write: 403`);
  console.log(`  curl -i -X POST ${url}/orders -H 'Authorization: Bearer ${write}'   # read write: 201`);
  console.log(`  curl -i ${url}/health/ready                                  # readiness: authorization server up?`);
  console.log('\nA new token:');
  console.log(`  curl -s -u ${clientId}:${clientSecret} -d grant_type=client_credentials -d 'scope=read write' ${embedded.tokenEndpoint}\n`);
} else {
  console.log(`Authorization server: ${process.env.AUTH_ISSUER ?? process.env.AUTH_INTROSPECTION_ENDPOINT}\n`);
}
