#!/usr/bin/env node
// Runtime exports of the built package, as consumers load them: every entry of package.json "exports"
// (except ./package.json) is require()d and import()ed by the package's own name (Node resolves a
// package's self-reference through its "exports"), and the sorted export names are compared with
// api/runtime-exports.json. test/contract/root-exports.spec.ts checks lib/ against the same file.
// Reads dist/: run `npm run build` first.
//   node scripts/check-runtime-exports.mjs            check (CI)
//   node scripts/check-runtime-exports.mjs --update   rewrite api/runtime-exports.json
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const snapshotPath = join(root, 'api', 'runtime-exports.json');
const update = process.argv.includes('--update');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const require = createRequire(join(root, 'package.json'));

/** Subpaths of "exports" that load code (not ./package.json or other data files). */
const subpaths = Object.entries(pkg.exports ?? {})
  .filter(([subpath, target]) => !/\.json$/.test(subpath) && !(typeof target === 'string' && target.endsWith('.json')))
  .map(([subpath]) => subpath);

const actual = {};
for (const subpath of subpaths) {
  const specifier = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.replace(/^\.\//, '')}`;
  let required;
  let imported;
  try {
    required = require(specifier);
    imported = await import(specifier);
  } catch (error) {
    console.error(`check-runtime-exports: cannot load "${specifier}" (run \`npm run build\` first?)`);
    throw error;
  }
  actual[subpath] = {
    require: Object.keys(required).sort(),
    import: Object.keys(imported).sort(),
  };
}

if (update) {
  mkdirSync(join(root, 'api'), { recursive: true });
  writeFileSync(snapshotPath, JSON.stringify(actual, null, 2) + '\n');
  console.log(`check-runtime-exports: wrote api/runtime-exports.json (${subpaths.join(', ')})`);
  process.exit(0);
}

if (!existsSync(snapshotPath)) {
  console.error('check-runtime-exports: api/runtime-exports.json is missing: run `npm run exports:update` and commit it.');
  process.exit(1);
}
const expected = JSON.parse(readFileSync(snapshotPath, 'utf8'));
const problems = [];
for (const subpath of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
  for (const loader of ['require', 'import']) {
    const want = expected[subpath]?.[loader];
    const got = actual[subpath]?.[loader];
    if (isDeepStrictEqual(want, got)) continue;
    if (!want) {
      problems.push(`"${subpath}" (${loader}): not in the snapshot`);
      continue;
    }
    if (!got) {
      problems.push(`"${subpath}" (${loader}): in the snapshot but not in package.json "exports"`);
      continue;
    }
    const lost = want.filter((name) => !got.includes(name));
    const added = got.filter((name) => !want.includes(name));
    problems.push(`"${subpath}" (${loader}):` + (lost.length ? ` lost ${lost.join(', ')}` : '') + (added.length ? ` new ${added.join(', ')}` : ''));
  }
}
if (problems.length > 0) {
  console.error("check-runtime-exports: the built package's exports differ from api/runtime-exports.json:");
  for (const problem of problems) console.error('  - ' + problem);
  console.error('If intended: `npm run exports:update` (it builds first), then commit api/runtime-exports.json.');
  process.exit(1);
}
console.log(`check-runtime-exports: ${subpaths.join(', ')} match api/runtime-exports.json (require and import)`);
