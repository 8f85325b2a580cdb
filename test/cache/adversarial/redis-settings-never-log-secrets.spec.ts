// Issue 26 review: a Redis Cluster or Sentinel set that is down at start-up, configured with passwords in every form
// node-redis takes. The app starts, lookups fall back to the AS, shutdown does not hang, and no log line holds the password.
import { describe, expect, it } from '@jest/globals';
import { CLIENTS, TestAuthorizationServer } from '../../support/authorization-server.js';
import { capturedLogs, createEngine, sleep } from '../../support/engine.js';

const SECRET = 'S3cretPassw0rd';
const settings: Record<string, unknown> = {
  'cluster root nodes as { url }': { cluster: { rootNodes: [{ url: `redis://:${SECRET}@127.0.0.1:1` }, { url: `redis://:${SECRET}@127.0.0.1:2` }] } },
  'cluster root nodes as URLs': { cluster: { rootNodes: [`redis://:${SECRET}@127.0.0.1:1`] } },
  'cluster defaults.password': { cluster: { rootNodes: [{ socket: { host: '127.0.0.1', port: 1 } }], defaults: { password: SECRET } } },
  'sentinel with a password': {
    sentinel: { name: 'mymaster', sentinelRootNodes: [`redis://:${SECRET}@127.0.0.1:3`], nodeClientOptions: { password: SECRET } },
  },
};

describe('Redis settings with passwords, Redis down', () => {
  it.each(Object.keys(settings))(
    '%s: starts, falls back to the AS, closes, and never logs the password',
    async (name) => {
      const as = await TestAuthorizationServer.start();
      const from = capturedLogs.length;
      try {
        const engine = await createEngine({
          introspectionEndpoint: as.introspectionEndpoint,
          allowInsecureRequests: true,
          ...CLIENTS.basic,
          cache: { redis: settings[name] as never, storeTimeoutMs: 100 },
        });
        const token = await as.issueToken({ scope: 'read' });
        await expect(engine.service.introspect(token)).resolves.toMatchObject({ active: true });
        await sleep(1200); // the reconnect attempts log their failures
        await engine.close();
      } finally {
        await as.stop();
      }
      const logged = capturedLogs.slice(from);
      expect(logged.some((line) => line.includes('Redis'))).toBe(true);
      expect(logged.filter((line) => line.includes(SECRET))).toEqual([]);
      expect(logged.filter((line) => /: undefined\b/.test(line))).toEqual([]);
    },
    30_000,
  );
});
