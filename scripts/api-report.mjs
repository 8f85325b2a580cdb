#!/usr/bin/env node
// API reports (@microsoft/api-extractor) of every typed entry of package.json "exports", committed in
// api/: `.` -> api/nestjs-token-introspection.api.md, `./testing` -> api/nestjs-token-introspection-testing.api.md,
// `./a/b` -> api/nestjs-token-introspection-a-b.api.md. A new subpath export gets its report without
// any config file: the entries and their api-extractor configs are derived here from package.json.
// Reads dist/*.d.ts: run `npm run build` first.
//   node scripts/api-report.mjs            check (CI): fails when a report differs or is missing
//   node scripts/api-report.mjs --update   rewrite api/*.api.md (and remove reports of entries that are gone)
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Extractor, ExtractorConfig, ExtractorLogLevel } from '@microsoft/api-extractor';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const apiFolder = join(root, 'api');
const update = process.argv.includes('--update');
const packageJsonFullPath = join(root, 'package.json');
const pkg = JSON.parse(readFileSync(packageJsonFullPath, 'utf8'));
const unscoped = pkg.name.replace(/^@[^/]+\//, '');

/** Every `exports` entry with a `types` condition, as { subpath, types, reportName }. */
function typedEntries() {
  const entries = [];
  for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
    const types = typeof target === 'object' && target !== null ? target.types : undefined;
    if (typeof types !== 'string') continue;
    const suffix = subpath === '.' ? '' : '-' + subpath.replace(/^\.\//, '').replace(/[^A-Za-z0-9._-]+/g, '-');
    entries.push({ subpath, types: join(root, types), reportName: unscoped + suffix });
  }
  return entries;
}

// Messages that are not about the API surface stay out of the log and never fail the run; the ones that
// are (forgotten exports, incompatible release tags) are written into the report, so a change shows in its diff.
const quiet = { logLevel: ExtractorLogLevel.None };
const inReport = { logLevel: ExtractorLogLevel.None, addToApiReportFile: true };
const messages = {
  compilerMessageReporting: { default: { logLevel: ExtractorLogLevel.Warning } },
  extractorMessageReporting: {
    default: { logLevel: ExtractorLogLevel.Warning },
    'ae-missing-release-tag': quiet,
    'ae-undocumented': quiet,
    'ae-forgotten-export': inReport,
    'ae-incompatible-release-tags': inReport,
    'ae-internal-missing-underscore': inReport,
    'ae-internal-mixed-release-tag': inReport,
    'ae-unresolved-link': quiet,
  },
  tsdocMessageReporting: { default: quiet },
};

function runExtractor(entry, tempFolder) {
  const configObject = {
    projectFolder: root,
    mainEntryPointFilePath: entry.types,
    compiler: {
      overrideTsconfig: {
        compilerOptions: {
          target: 'ES2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          lib: ['ES2023'],
          types: ['node'],
          strict: true,
          skipLibCheck: true,
        },
        files: [entry.types],
      },
    },
    apiReport: {
      enabled: true,
      reportFileName: entry.reportName,
      reportFolder: tempFolder,
      reportTempFolder: join(tempFolder, 'temp'),
      includeForgottenExports: false,
    },
    docModel: { enabled: false },
    dtsRollup: { enabled: false },
    tsdocMetadata: { enabled: false },
    messages,
  };
  const extractorConfig = ExtractorConfig.prepare({
    configObject,
    configObjectFullPath: join(root, 'api', 'api-extractor.json'), // virtual: resolves relative paths only
    packageJsonFullPath,
    packageJson: pkg,
  });
  const result = Extractor.invoke(extractorConfig, {
    localBuild: true, // writes into tempFolder; the comparison with api/ is done below
    showVerboseMessages: false,
    messageCallback(message) {
      // Info lines and api-extractor's own report bookkeeping ("The API report file was missing …": it
      // writes into a fresh temporary folder) are noise here: the comparison with api/ is ours.
      const bookkeeping = message.messageId === 'console-api-report-created';
      if (bookkeeping || message.logLevel === ExtractorLogLevel.Info || message.logLevel === ExtractorLogLevel.Verbose) {
        message.handled = true;
      }
    },
  });
  if (result.errorCount > 0) throw new Error(`api-extractor reported ${result.errorCount} error(s) for "${entry.subpath}"`);
  return readFileSync(join(tempFolder, `${entry.reportName}.api.md`), 'utf8');
}

const entries = typedEntries();
if (entries.length === 0) throw new Error('package.json "exports" has no entry with a "types" condition');
for (const entry of entries) {
  if (!existsSync(entry.types)) {
    console.error(`api-report: ${entry.types} is missing: run \`npm run build\` first.`);
    process.exit(1);
  }
}

const tempFolder = mkdtempSync(join(tmpdir(), 'api-report-'));
const problems = [];
try {
  const expected = new Set();
  for (const entry of entries) {
    const generated = runExtractor(entry, tempFolder);
    const committedPath = join(apiFolder, `${entry.reportName}.api.md`);
    expected.add(`${entry.reportName}.api.md`);
    const committed = existsSync(committedPath) ? readFileSync(committedPath, 'utf8') : undefined;
    if (update) {
      mkdirSync(apiFolder, { recursive: true });
      if (committed !== generated) {
        writeFileSync(committedPath, generated);
        console.log(`api-report: wrote api/${entry.reportName}.api.md ("${entry.subpath}")`);
      } else {
        console.log(`api-report: api/${entry.reportName}.api.md unchanged ("${entry.subpath}")`);
      }
    } else if (committed === undefined) {
      problems.push(`api/${entry.reportName}.api.md is missing (export "${entry.subpath}")`);
    } else if (committed !== generated) {
      const kept = join(tmpdir(), `${entry.reportName}.api.md`);
      writeFileSync(kept, generated);
      const diff = spawnSync('git', ['diff', '--no-index', '--no-color', '--', committedPath, kept], { encoding: 'utf8' }).stdout ?? '';
      const shown = diff.split('\n').slice(4, 64).join('\n');
      problems.push(
        `api/${entry.reportName}.api.md differs from the API of export "${entry.subpath}" (built dist/).\n` +
          `    full diff: git diff --no-index api/${entry.reportName}.api.md ${kept}\n${shown}`,
      );
    } else {
      console.log(`api-report: api/${entry.reportName}.api.md matches ("${entry.subpath}")`);
    }
  }
  // A report whose entry left package.json "exports".
  for (const file of existsSync(apiFolder) ? readdirSync(apiFolder) : []) {
    if (!file.endsWith('.api.md') || expected.has(file)) continue;
    if (update) {
      rmSync(join(apiFolder, file));
      console.log(`api-report: removed api/${file} (no such export any more)`);
    } else {
      problems.push(`api/${file} belongs to no typed entry of package.json "exports"`);
    }
  }
} finally {
  rmSync(tempFolder, { recursive: true, force: true });
}

if (problems.length > 0) {
  console.error('\napi-report: the public API differs from the committed reports:');
  for (const problem of problems) console.error('  - ' + problem);
  console.error(
    '\nIf the change is intended, run `npm run api:update` (it builds first) and commit api/*.api.md ' +
      '(the diff is the API review). Otherwise restore the lost or changed exports.',
  );
  process.exit(1);
}
