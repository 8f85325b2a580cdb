#!/usr/bin/env node
// The docs check (issue 25), `npm run docs:check`:
//   1. limits: README.md at most 25 KB, at least 10 topic pages under docs/, the generated reference's
//      entry page, LICENSE, CHANGELOG.md, SECURITY.md, CONTRIBUTING.md, the production checklist and a
//      Keycloak recipe with the /realms/<realm> issuer;
//   2. links: every relative link and #anchor of README.md and docs/**/*.md (docs/api/ included) resolves;
//   3. code: every ```ts / ```typescript block of README.md and docs/**/*.md (not docs/api/) type-checks as a
//      standalone module against the built package (dist/), in a CommonJS and an ESM project set up like a
//      `nest new` app (scripts/docs/compile-blocks.mjs); ```ts no-check blocks are skipped;
//   4. the API reference docs/api/ is what `npm run docs` generates (scripts/docs/api-reference.mjs --check).
// Options: --skip-api (no step 4), --self-test (steps 1-3 on synthetic pages that must fail in known ways).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileBlocks } from './compile-blocks.mjs';
import { anchors, codeBlocks, links } from './markdown.mjs';

const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const README_LIMIT = 25 * 1024; // "at most 25 KB": 25,600 bytes
const MIN_TOPIC_PAGES = 10;
const COMPILED = new Set(['ts', 'typescript']);
/** Info strings that name TypeScript but are not one of COMPILED. */
const TYPESCRIPT_LIKE = /^(ts|typescript|tsx|mts|cts)$/i;

const posix = (p) => p.split(sep).join('/');

function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]))
    .sort();
}

/** The pages of the check, relative to root: README.md, then docs/**\/*.md (docs/api/ apart). */
function pages(root) {
  const docs = walk(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => posix(relative(root, f)));
  return {
    written: [...(existsSync(join(root, 'README.md')) ? ['README.md'] : []), ...docs.filter((f) => !f.startsWith('docs/api/'))],
    generated: docs.filter((f) => f.startsWith('docs/api/')),
  };
}

function checkLimits(root, { written }) {
  const failures = [];
  const notes = [];
  const readme = join(root, 'README.md');
  if (!existsSync(readme)) failures.push('README.md is missing');
  else {
    const size = statSync(readme).size;
    notes.push(`README.md: ${size.toLocaleString('en')} bytes (limit ${README_LIMIT.toLocaleString('en')})`);
    if (size > README_LIMIT) failures.push(`README.md is ${size.toLocaleString('en')} bytes: more than 25 KB (${README_LIMIT.toLocaleString('en')} bytes)`);
  }
  const topics = written.filter((f) => f.startsWith('docs/') && f !== 'docs/README.md');
  notes.push(`topic pages under docs/ (docs/README.md and docs/api/ apart): ${topics.length}`);
  if (topics.length < MIN_TOPIC_PAGES)
    failures.push(`only ${topics.length} topic page(s) under docs/ (docs/api/ and docs/README.md not counted): at least ${MIN_TOPIC_PAGES} are needed`);
  for (const file of ['docs/api/README.md', 'LICENSE', 'CHANGELOG.md', 'SECURITY.md', 'CONTRIBUTING.md', 'docs/production-checklist.md']) {
    if (!existsSync(join(root, file))) failures.push(`${file} is missing`);
  }
  // A recipe: a heading that names Keycloak, on a page that gives the /realms/<realm> issuer.
  const keycloak = written.filter((f) => {
    if (!f.startsWith('docs/') || f === 'docs/README.md') return false;
    const text = readFileSync(join(root, f), 'utf8');
    return /^#{1,6} .*keycloak/im.test(text) && text.includes('/realms/');
  });
  if (keycloak.length === 0) failures.push('no Keycloak recipe under docs/: no page mentions Keycloak and its /realms/<realm> issuer');
  else notes.push(`Keycloak recipe with /realms/: ${keycloak.join(', ')}`);
  return { failures, notes };
}

const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

function checkLinks(root, { written, generated }) {
  const failures = [];
  const anchorCache = new Map();
  const anchorsOf = (file) => {
    if (!anchorCache.has(file)) anchorCache.set(file, anchors(readFileSync(file, 'utf8')));
    return anchorCache.get(file);
  };
  let count = 0;
  for (const page of [...written, ...generated]) {
    const file = join(root, page);
    for (const { target, line } of links(readFileSync(file, 'utf8'))) {
      if (SCHEME.test(target) || target.startsWith('//')) continue; // external: not checked here
      count++;
      const hash = target.indexOf('#');
      const rawPath = hash === -1 ? target : target.slice(0, hash);
      const fragment = hash === -1 ? '' : target.slice(hash + 1);
      let path;
      try {
        path = decodeURIComponent(rawPath.split('?')[0]);
      } catch {
        path = rawPath;
      }
      const dest = path === '' ? file : path.startsWith('/') ? join(root, path) : resolve(dirname(file), path);
      if (
        !posix(relative(root, dest))
          .split('/')
          .every((s) => s !== '..') ||
        !existsSync(dest)
      ) {
        failures.push(`${page}:${line}: dead link ${target} (${posix(relative(root, dest))} does not exist)`);
        continue;
      }
      if (!fragment) continue;
      let anchorFile = dest;
      if (statSync(dest).isDirectory()) anchorFile = join(dest, 'README.md');
      if (!anchorFile.endsWith('.md') || !existsSync(anchorFile)) continue; // anchors into code files (#L12) are not checked
      let decoded = fragment;
      try {
        decoded = decodeURIComponent(fragment);
      } catch {
        /* keep it as written */
      }
      if (!anchorsOf(anchorFile).has(decoded) && !anchorsOf(anchorFile).has(decoded.toLowerCase()))
        failures.push(`${page}:${line}: dead anchor ${target} (${posix(relative(root, anchorFile))} has no heading or id "${decoded}")`);
    }
  }
  return { failures, notes: [`relative links and anchors checked: ${count}`] };
}

/** The ```ts blocks of the written pages, numbered per page. */
function tsBlocks(root, { written }) {
  const blocks = [];
  const misfits = [];
  let skipped = 0;
  for (const page of written) {
    let n = 0;
    for (const b of codeBlocks(readFileSync(join(root, page), 'utf8'))) {
      const words = b.info.split(/\s+/);
      // TypeScript under another name (```TS, ```tsx, ```ts title=…) would go unchecked: said, not skipped silently.
      if (!COMPILED.has(words[0])) {
        if (TYPESCRIPT_LIKE.test(words[0]))
          misfits.push(`${page}:${b.line}: a \`\`\`${b.info} block is not compiled: write \`\`\`ts (or \`\`\`ts no-check for a fragment)`);
        continue;
      }
      n++;
      if (words.length === 2 && words[1] === 'no-check') {
        skipped++;
        continue;
      }
      if (words.length > 1) {
        misfits.push(`${page}:${b.line} (block ${n}): info string "${b.info}" is not compiled: write \`\`\`ts (or \`\`\`ts no-check for a fragment)`);
        continue;
      }
      blocks.push({ page, index: n, line: b.line, code: b.code });
    }
  }
  return { blocks, skipped, misfits };
}

/** Runs a node script, resolves with its exit code (its output goes straight to ours). */
function run(script, args) {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: 'inherit' });
    child.on('exit', (code) => resolvePromise(code ?? 1));
  });
}

async function checkDocs(root, { scratch, api, quiet = false }) {
  const started = Date.now();
  const list = pages(root);
  const apiRun = api ? run(join(repo, 'scripts/docs/api-reference.mjs'), ['--check']) : Promise.resolve(0);
  const limits = checkLimits(root, list);
  const linkResult = checkLinks(root, list);
  const { blocks, skipped, misfits } = tsBlocks(root, list);
  const code = await compileBlocks({ repo, scratch, blocks });
  const apiCode = await apiRun;
  const sections = [
    ['limits', limits],
    ['links', linkResult],
    [
      'code blocks',
      {
        failures: [...misfits, ...code.failures],
        notes: [`${blocks.length} block(s) type-checked (CommonJS and ESM), ${skipped} ts no-check block(s) skipped`],
      },
    ],
  ];
  let failed = apiCode !== 0;
  for (const [name, { failures, notes }] of quiet ? [] : sections) {
    console.log(`\n--- ${name}`);
    for (const n of notes) console.log(n);
    for (const f of failures) console.log(`✗ ${f}`);
    if (failures.length) failed = true;
  }
  failed ||= sections.some(([, s]) => s.failures.length > 0);
  if (!quiet) console.log(`\ndocs check: ${failed ? 'FAILED' : 'passed'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { failed, sections: Object.fromEntries(sections), apiCode };
}

/** Synthetic pages with known defects: each must be reported, and nothing else. */
async function selfTest() {
  const root = mkdtempSync(join(tmpdir(), 'docs-check-self-test-'));
  try {
    const write = (file, text) => {
      mkdirSync(dirname(join(root, file)), { recursive: true });
      writeFileSync(join(root, file), text);
    };
    const good = [
      "import { Controller, Get } from '@nestjs/common';",
      "import { Introspected, Public, type IntrospectedClaim } from 'nestjs-token-introspection';",
      "import { InMemoryAuthorizationServer } from 'nestjs-token-introspection/testing';",
      '',
      "@Controller('orders')",
      'export class OrdersController {',
      "  @Get('me') me(@Introspected('sub') sub: IntrospectedClaim<'sub'>) { return { sub: sub ?? null }; }",
      "  @Public() @Get('health') health() { return 'ok'; }",
      '}',
      'export const server = new InMemoryAuthorizationServer();',
    ].join('\n');
    write(
      'README.md',
      [
        '# Demo `title`',
        '',
        'See [the guard](docs/guard.md#the-guard-and-token_sources), [below](#second-heading), [api](docs/api/README.md) and [web](https://example.com/x).',
        '',
        '## Second heading',
        '',
        '```ts',
        good,
        '```',
        '',
        '```ts',
        "import { IntrospectionModule } from 'nestjs-token-introspection';",
        'const n: number = IntrospectionModule; // error: not a number',
        "const y = missingThing + 'x';",
        '```',
        '',
        '```typescript',
        "import { Controller, Get } from '@nestjs/common';",
        "import { Introspected, IntrospectedClaim } from 'nestjs-token-introspection';",
        "@Controller() export class MeController { @Get() me(@Introspected('sub') sub: IntrospectedClaim<'sub'>) { return sub; } }",
        '```',
        '',
        '```ts no-check',
        'this is not TypeScript',
        '```',
        '',
        '1. In a list item:',
        '',
        '    ```ts',
        "    const indented: number = 'not a number';",
        '    ```',
        '',
        '```tsx',
        'const hidden: number = 1;',
        '```',
        '',
        '```bash',
        'npm i nestjs-token-introspection',
        '```',
        '',
        'A [dead link](docs/missing.md), a [bad anchor](#no-such-heading) and `[not a link](nowhere.md)`.',
        '',
      ].join('\n'),
    );
    write(
      'docs/guard.md',
      '# The guard and `token_sources`\n\nBack to the [README](../README.md#demo-title) and [the second](../README.md#second-heading).\n\n## Repeat\n\n## Repeat\n\n[repeat 2](#repeat-1)\n\n' +
        // GitHub keeps a code span's text (`<realm>`) and decodes entities before slugging.
        '## The `/realms/<realm>` issuer\n\n## Tom &amp; Jerry\n\n[realm](#the-realmsrealm-issuer) [tom](#tom--jerry)\n',
    );
    write('docs/api/README.md', '# API\n');
    const { sections } = await checkDocs(root, { scratch: join(repo, '.build/docs-check-self-test'), api: false, quiet: true });
    const got = Object.values(sections).flatMap((s) => s.failures);
    const must = [
      /^only 1 topic page/,
      /^LICENSE is missing$/,
      /^CHANGELOG\.md is missing$/,
      /^SECURITY\.md is missing$/,
      /^CONTRIBUTING\.md is missing$/,
      /^docs\/production-checklist\.md is missing$/,
      /^no Keycloak recipe/,
      /^README\.md:50: dead link docs\/missing\.md /,
      /^README\.md:50: dead anchor #no-such-heading /,
      /^README\.md:22 \(block 2, cjs, esm\): error TS2322: /,
      /^README\.md:23 \(block 2, cjs, esm\): error TS2304: Cannot find name 'missingThing'/,
      // the quick-start trap of issue 25: a type in a decorated signature needs `import type` under isolatedModules
      /^README\.md:29 \(block 3, cjs, esm\): error TS1272: /,
      // an indented fence (in a list item) is compiled; TypeScript under another info string is reported
      /^README\.md:39 \(block 5, cjs, esm\): error TS2322: /,
      /^README\.md:42: a ```tsx block is not compiled/,
    ];
    const problems = [];
    for (const re of must) if (!got.some((g) => re.test(g))) problems.push(`expected a failure matching ${re}`);
    for (const g of got) if (!must.some((re) => re.test(g))) problems.push(`unexpected failure: ${g}`);
    console.log(`docs check self-test (synthetic pages with ${must.length} known defects): ${problems.length ? 'FAILED' : 'passed'}`);
    for (const p of problems) console.log(`✗ ${p}`);
    return problems.length === 0;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv.includes('--self-test')) {
  process.exitCode = (await selfTest()) ? 0 : 1;
} else {
  if (!existsSync(join(repo, 'dist/index.d.ts'))) {
    console.error('dist/ is missing: the code blocks are checked against the built package. Run `npm run build` first.');
    process.exit(1);
  }
  const { failed, apiCode } = await checkDocs(repo, { scratch: join(repo, '.build/docs-check'), api: !process.argv.includes('--skip-api') });
  if (apiCode !== 0) console.log('✗ the API reference docs/api/ is stale: run `npm run docs` and commit docs/api/');
  process.exitCode = failed ? 1 : 0;
}
