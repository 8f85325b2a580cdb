import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A newcomer's green run must not test less than it says: on a machine without `redis-server`, the suites that need
 * it are skipped and the run ends with one line naming what was skipped, why and the install command; with `CI=true`
 * they fail. Runs Jest itself on a small Redis suite with a PATH where only `node` is found.
 */
describe('suites that need a server binary this machine lacks', () => {
  let bin: string;
  const jest = (env: Record<string, string>) =>
    spawnSync(
      process.execPath,
      [
        '--experimental-vm-modules',
        '--disable-warning=ExperimentalWarning',
        'node_modules/jest/bin/jest.js',
        'test/cache/adversarial/purge-many-entries.spec.ts',
      ],
      {
        cwd: process.cwd(),
        encoding: 'utf8',
        timeout: 120_000,
        env: { HOME: process.env.HOME ?? '/tmp', PATH: bin, ...env },
      },
    );

  beforeAll(() => {
    bin = mkdtempSync(join(tmpdir(), 'no-redis-bin-'));
    symlinkSync(process.execPath, join(bin, 'node'));
  });
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  it('without CI: skipped, and the run ends with one line naming what, why and the install command', () => {
    const run = jest({});
    const output = run.stdout + run.stderr;
    expect(run.status).toBe(0);
    const lines = output.split('\n').filter((l) => l.startsWith('SKIPPED '));
    expect(lines).toEqual([
      'SKIPPED 1 tests in 1 suites: redis-server not found on this machine. Install it (Debian/Ubuntu: sudo apt-get install -y redis-server) and run npm test again; with CI=true these tests fail instead.',
    ]);
  }, 130_000);

  it('with CI=true: the tests fail, naming the install command', () => {
    const run = jest({ CI: 'true' });
    expect(run.status).not.toBe(0);
    expect(run.stdout + run.stderr).toContain(
      'CI=true and a required server is missing: redis-server not found on this machine. Install it (Debian/Ubuntu: sudo apt-get install -y redis-server)',
    );
  }, 130_000);
});
