#!/usr/bin/env node
// The generated API reference (docs/api/): TypeDoc + typedoc-plugin-markdown over the sources of every
// typed entry of package.json "exports" (`.` -> docs/api/root/, `./jwt` -> docs/api/jwt/, ...), with the
// JSDoc of lib/. TypeDoc lives in tools/docs/ (its own package.json and lockfile; installed on first use).
// Deterministic: no source links (they would carry the commit), no timestamps, no absolute paths.
//   node scripts/docs/api-reference.mjs            regenerate docs/api/ (npm run docs)
//   node scripts/docs/api-reference.mjs --check    fail when docs/api/ differs from a fresh generation
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const tools = join(root, 'tools/docs');
const target = join(root, 'docs/api');
const check = process.argv.includes('--check');

if (!existsSync(join(tools, 'node_modules/typedoc'))) {
  const r = spawnSync('npm', ['ci', '--prefix', tools, '--no-audit', '--no-fund', '--silent'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const toolsRequire = createRequire(join(tools, 'package.json'));
const td = await import(pathToFileURL(toolsRequire.resolve('typedoc')).href);

/** Every `exports` entry with a `types` condition, as { name, source } (dist/jwt/index.d.ts -> lib/jwt/index.ts). */
function entries() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const out = [];
  for (const [subpath, spec] of Object.entries(pkg.exports ?? {})) {
    const types = typeof spec === 'object' && spec !== null ? spec.types : undefined;
    if (typeof types !== 'string') continue;
    const source = types.replace(/^\.\/dist\//, 'lib/').replace(/\.d\.ts$/, '.ts');
    if (!existsSync(join(root, source))) throw new Error(`${subpath}: no source ${source} for ${types}`);
    out.push({ subpath, name: subpath === '.' ? 'root' : subpath.replace(/^\.\//, '').replace(/[^A-Za-z0-9._-]+/g, '-'), source: join(root, source) });
  }
  return out;
}

async function generate(outDir) {
  const list = entries();
  const bySource = new Map(list.map((e) => [e.source, e]));
  const app = await td.Application.bootstrapWithPlugins({
    entryPoints: list.map((e) => e.source),
    tsconfig: join(root, 'tsconfig.build.json'),
    plugin: [toolsRequire.resolve('typedoc-plugin-markdown')],
    out: outDir,
    name: 'nestjs-token-introspection',
    readme: join(tools, 'api-readme.md'),
    mergeReadme: true,
    disableSources: true,
    disableGit: true,
    sourceLinkTemplate: undefined,
    gitRevision: 'main',
    sortEntryPoints: false,
    excludePrivate: true,
    excludeProtected: false,
    excludeInternal: true,
    excludeExternals: true,
    hideGenerator: true,
    entryFileName: 'README.md',
    outputFileStrategy: 'members',
    useCodeBlocks: true,
    parametersFormat: 'table',
    interfacePropertiesFormat: 'table',
    classPropertiesFormat: 'table',
    typeAliasPropertiesFormat: 'table',
    enumMembersFormat: 'table',
    sanitizeComments: true,
    validation: { notExported: false, invalidLink: false, notDocumented: false },
    logLevel: 'Warn',
  });
  // Name each module after its export entry (root, testing, jwt, ...) rather than its file path.
  app.converter.on(td.Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const mod of context.project.children ?? []) {
      const file = context.project.getSymbolIdFromReflection(mod)?.fileName;
      const entry = file && bySource.get(resolve(file));
      if (!entry) throw new Error(`TypeDoc module ${mod.name} (${file}) is no export entry`);
      mod.name = entry.name;
    }
  });
  const project = await app.convert();
  if (!project) throw new Error('TypeDoc could not convert the project (see above)');
  await app.generateOutputs(project);
}

/** Every file under dir, relative, sorted. */
function files(dir, base = dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((d) => (d.isDirectory() ? files(join(dir, d.name), base) : [relative(base, join(dir, d.name))]))
    .sort();
}

const scratch = mkdtempSync(join(tmpdir(), 'api-reference-'));
try {
  const fresh = join(scratch, 'api');
  await generate(fresh);
  if (check) {
    const want = files(fresh);
    const have = files(target);
    const differ = [
      ...want.filter((f) => !have.includes(f)).map((f) => `missing   docs/api/${f}`),
      ...have.filter((f) => !want.includes(f)).map((f) => `stale     docs/api/${f} (no longer generated)`),
      ...want
        .filter((f) => have.includes(f) && readFileSync(join(fresh, f), 'utf8') !== readFileSync(join(target, f), 'utf8'))
        .map((f) => `differs   docs/api/${f}`),
    ];
    if (differ.length) {
      console.error(differ.slice(0, 30).join('\n') + (differ.length > 30 ? `\n… and ${differ.length - 30} more` : ''));
      console.error(`\nThe API reference docs/api/ is stale (${differ.length} file(s)): run \`npm run docs\` and commit docs/api/.`);
      process.exitCode = 1;
    } else {
      console.log(`API reference docs/api/ is current (${want.length} files).`);
    }
  } else {
    rmSync(target, { recursive: true, force: true });
    cpSync(fresh, target, { recursive: true });
    console.log(`API reference written to docs/api/ (${files(target).length} files).`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
