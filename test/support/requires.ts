import { appendFileSync } from 'node:fs';
import { format } from 'node:util';
import { describe, it } from '@jest/globals';

/** True when the run is a CI run (`CI=true`, as CI services set it): a missing server is then a failure, not a skip. */
export const inCi = /^(1|true|yes)$/i.test(process.env.CI ?? '');

type Body = () => void;
type TestFn = () => Promise<unknown> | void;

/**
 * `describe` / `it` for suites that need a real server binary on this machine (e.g. `redis-server`). Where it is
 * missing they are skipped and the skip is recorded, so the run ends with one line naming what was skipped, why,
 * and the install command (test/support/skip-reporter.mjs); with `CI=true` they fail instead, with that command.
 */
export function requires(binary: string, available: boolean, install: string) {
  const why = `${binary} not found on this machine. Install it (${install}) and run npm test again.`;
  const record = () => {
    const log = process.env.NTI_SKIP_LOG;
    if (log) appendFileSync(log, `${JSON.stringify({ binary, install, file: callerFile() })}\n`);
  };
  const describeIf = (title: string, body: Body): void => {
    if (available) return describe(title, body);
    if (inCi) return describe(title, () => it(`needs ${binary}`, () => fail(why)));
    record();
    describe.skip(title, body);
  };
  return {
    /** `describe`, and `describe.each(table)(title, body)` with printf-style titles as Jest formats them. */
    describe: Object.assign(describeIf, {
      each:
        <T>(table: readonly T[]) =>
        (title: string, body: (row: T) => void): void => {
          if (available) return describe.each(table as T[])(title, body);
          for (const row of table) describeIf(format(title, row), () => body(row));
        },
    }),
    it(title: string, fn: TestFn, timeout?: number): void {
      if (available) return it(title, fn, timeout);
      if (inCi) return it(title, () => fail(why));
      record();
      it.skip(title, fn, timeout);
    },
  };
}

function fail(why: string): never {
  throw new Error(`CI=true and a required server is missing: ${why}`);
}

/** The test file that declared the block (from the stack), for the end-of-run summary. */
function callerFile(): string {
  const line = (new Error().stack ?? '').split('\n').find((l) => /\.(e2e-)?spec\.ts/.test(l));
  return /((?:\/|[A-Za-z]:\\)[^():]+\.(?:e2e-)?spec\.ts)/.exec(line ?? '')?.[1] ?? 'unknown';
}
