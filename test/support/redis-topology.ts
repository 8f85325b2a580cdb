import { spawnSync } from 'node:child_process';
import { describe, it } from '@jest/globals';

export { TestRedisCluster } from './redis-cluster.js';
export { TestRedisSentinel } from './redis-sentinel.js';

/** Whether `redis-server` and `redis-cli` are on this machine (CI installs both with the Debian package; see .ci/run). */
export const hasRedisTools = spawnSync('redis-server', ['--version']).status === 0 && spawnSync('redis-cli', ['--version']).status === 0;

/**
 * `describe` for suites that start a Redis topology. Where `redis-server` or `redis-cli` is missing the suite
 * fails, saying what to install: a topology test is never skipped silently, on a laptop or in CI.
 */
export function describeWithTopology(title: string, body: () => void): void {
  if (hasRedisTools) return describe(title, body);
  describe(title, () =>
    it('needs redis-server and redis-cli', () => {
      throw new Error(
        'redis-server / redis-cli not found on this machine. Install them (Debian/Ubuntu: sudo apt-get install -y redis-server) and run the suite again.',
      );
    }),
  );
}
