/**
 * `npm run sample:as`: only the embedded authorization server (a real oidc-provider on 127.0.0.1),
 * for pointing another app at it. AUTH_PORT picks the port (default: a free one). With
 * AS_ENV_FILE=<path> it also writes the connection settings as shell `export` lines (used by CI's
 * consumer apps). Stops on SIGINT/SIGTERM.
 */
import { writeFileSync } from 'node:fs';
import { CLIENTS, EmbeddedAuthorizationServer } from './embedded-authorization-server.js';

const as = await EmbeddedAuthorizationServer.start({ port: Number(process.env.AUTH_PORT ?? 0) });
const { env, tokenCommand } = as.connectionInfo();
console.log(`Authorization server (oidc-provider) on ${as.issuer}; introspection endpoint ${as.introspectionEndpoint}\n`);
console.log("Point an app at it (the API's introspection credentials, client_secret_basic):");
console.log(
  `  ${Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')}\n`,
);
console.log('Get a token (client application `app`; scopes read, write, admin):');
console.log(`  ${tokenCommand}\n`);
if (process.env.AS_ENV_FILE) {
  const app = { AS_TOKEN_ENDPOINT: as.tokenEndpoint, AS_APP_CLIENT: `${CLIENTS.app.clientId}:${CLIENTS.app.clientSecret}` };
  writeFileSync(
    process.env.AS_ENV_FILE,
    Object.entries({ ...env, ...app })
      .map(([k, v]) => `export ${k}='${v}'`)
      .join('\n') + '\n',
  );
}
const stop = () => void as.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
