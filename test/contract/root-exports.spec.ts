/**
 * The runtime export names of the package entries, checked against the source (no build needed): a
 * refactoring that loses a root or `./testing` export fails `npm test`. api/runtime-exports.json is
 * written from the built package by `npm run exports:update` (scripts/check-runtime-exports.mjs checks
 * dist/ in CI); here the `require` list is the reference (the names without the `import()` interop
 * extras `default` and `__esModule`).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';

const snapshot = JSON.parse(readFileSync(new URL('../../api/runtime-exports.json', import.meta.url), 'utf8')) as Record<
  string,
  { require: string[]; import: string[] }
>;

/** `.` → lib/index.ts, `./testing` → lib/testing/index.ts, `./jwt` → lib/jwt/index.ts: each subpath is a folder's barrel. */
const sourceOf = (subpath: string) => (subpath === '.' ? '../../lib/index.js' : `../../lib/${subpath.slice(2)}/index.js`);

describe('runtime exports of the package entries (api/runtime-exports.json)', () => {
  it('the snapshot covers every code entry of package.json "exports"', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { exports: Record<string, unknown> };
    const entries = Object.keys(pkg.exports).filter((subpath) => !subpath.endsWith('.json'));
    expect(Object.keys(snapshot).sort()).toEqual(entries.sort());
  });

  it('the root entry (lib/index.ts) exports exactly the recorded names', async () => {
    const root = await import('../../lib/index.js');
    expect(Object.keys(root).sort()).toEqual(snapshot['.'].require);
  });

  it('the ./testing entry (lib/testing/index.ts) exports exactly the recorded names', async () => {
    const testing = await import('../../lib/testing/index.js');
    expect(Object.keys(testing).sort()).toEqual(snapshot['./testing'].require);
  });

  it('every other subpath entry (lib/<subpath>/index.ts) exports exactly the recorded names', async () => {
    for (const subpath of Object.keys(snapshot).filter((name) => name !== '.' && name !== './testing')) {
      const loaded = (await import(sourceOf(subpath))) as Record<string, unknown>;
      expect({ subpath, names: Object.keys(loaded).sort() }).toEqual({ subpath, names: snapshot[subpath].require });
    }
  });

  it('import() of the built package adds only the CommonJS interop names', () => {
    for (const [entry, names] of Object.entries(snapshot)) {
      expect({ entry, extras: names.import.filter((name) => !names.require.includes(name)) }).toEqual({ entry, extras: ['__esModule', 'default'] });
      expect({ entry, missing: names.require.filter((name) => !names.import.includes(name)) }).toEqual({ entry, missing: [] });
    }
  });
});
