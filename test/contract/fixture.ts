/**
 * Committed contract fixtures (test/contract/__fixtures__/*.json, api/*.json): a suite compares what it
 * observes with the committed value, key by key. They never rewrite themselves in a normal run (CI
 * included): `UPDATE_CONTRACT=1` (npm run contract:update) rewrites the keys a suite checks. Run the
 * whole suite file when updating: each file is rewritten from the keys that ran.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { expect } from '@jest/globals';

export const UPDATE_CONTRACT = process.env.UPDATE_CONTRACT === '1';

/** A JSON fixture file: `check(key, actual)` asserts equality, or records `actual` under UPDATE_CONTRACT=1. */
export function jsonFixture(url: URL) {
  const path = url.pathname;
  const committed: Record<string, unknown> = existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {};
  const updated: Record<string, unknown> = {};
  return {
    committed,
    check(key: string, actual: unknown): void {
      if (UPDATE_CONTRACT) {
        updated[key] = actual;
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, JSON.stringify(updated, null, 2) + '\n');
        return;
      }
      if (!(key in committed)) {
        throw new Error(`${path} has no entry "${key}": run \`npm run contract:update\` and review the diff.`);
      }
      // On a difference: if the change is intended, `npm run contract:update` and commit the fixture.
      expect(actual).toEqual(committed[key]);
    },
  };
}
