// Type-checks code blocks of the docs as standalone modules (or, when a block names its file on its first line,
// `// src/x.ts`, as that file of its page's small app, beside the page's other named blocks) against the built package, the way a user's
// app sees it: two scratch projects under <scratch>/ (a CommonJS one and an ESM one, "type": "module"),
// both with the compiler options of a `nest new` app, and `nestjs-token-introspection` linked into their
// node_modules (so package.json "exports", typesVersions and dist/*.d.ts are what resolves). Everything
// else (@nestjs/*, supertest, ioredis, jose, …) resolves from the repository's node_modules, because the
// scratch folder lives inside the repository (.build/). One TypeScript program over both projects and every block.
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The compiler options of an app made by `nest new` (@nestjs/cli 11: CommonJS; 12 adds "type": "module"). */
const NEST_APP = {
  module: 'nodenext',
  moduleResolution: 'nodenext',
  resolvePackageJsonExports: true,
  esModuleInterop: true,
  isolatedModules: true,
  declaration: true,
  removeComments: true,
  emitDecoratorMetadata: true,
  experimentalDecorators: true,
  allowSyntheticDefaultImports: true,
  target: 'ES2023',
  sourceMap: true,
  skipLibCheck: true,
  strictNullChecks: true,
  forceConsistentCasingInFileNames: true,
  noImplicitAny: false,
  strictBindCallApply: false,
  noFallthroughCasesInSwitch: false,
  // Not from the template: the check only type-checks; every block is a module even without import/export
  // (so two blocks never share a global scope); Jest's globals for test examples (TS 6 loads no @types by default).
  noEmit: true,
  moduleDetection: 'force',
  types: ['node', 'jest'],
};

/** The first line of a block that names its file in the page's app: `// src/x.ts` or `// test/x.e2e-spec.ts`, maybe with a note after. */
const APP_FILE = /^\/\/ ((?:src|test)\/[\w./-]+\.ts)(?:\s|$)/;

const PROJECTS = [
  { name: 'cjs', packageJson: { name: 'docs-check-cjs', private: true } },
  { name: 'esm', packageJson: { name: 'docs-check-esm', private: true, type: 'module' } },
];

/**
 * Type-checks the scratch projects in a child process (its memory is freed when it ends) and returns the
 * diagnostics as [{ file, line, text }]. Uses the compiler API rather than the tsc command line: tsc reports
 * no semantic error at all while any file has a syntax error, so one broken fragment would hide the rest.
 */
function typeCheck(repo, project) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--worker', repo, project]);
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolvePromise(JSON.parse(out)) : reject(new Error(`type-check of ${project} failed: ${err || out}`))));
  });
}

/** The worker: every syntactic and semantic diagnostic of the project's own files, as JSON on stdout. */
async function worker(repo, project) {
  const { default: ts } = await import(pathToFileURL(join(repo, 'node_modules/typescript/lib/typescript.js')).href);
  const host = { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => console.error(ts.flattenDiagnosticMessageText(d.messageText, '\n')) };
  const config = ts.getParsedCommandLineOfConfigFile(join(project, 'tsconfig.json'), {}, host);
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
  const all = [...config.errors, ...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
  for (const sf of program.getSourceFiles()) {
    if (sf.isDeclarationFile || !sf.fileName.startsWith(project)) continue;
    all.push(...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf));
  }
  const list = all.map((d) => {
    const text = `${d.category === ts.DiagnosticCategory.Warning ? 'warning' : 'error'} TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    if (!d.file) return { file: '', line: 0, text };
    const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    return { file: relative(project, d.file.fileName).replace(/\\/g, '/'), line: line + 1, text };
  });
  process.stdout.write(JSON.stringify(list));
}

/**
 * blocks: [{ page, index, line, code }] (line: the opening fence's line). Returns { failures } as
 * "README.md:123 (block 4, cjs, esm): error TS2304: …", one per distinct error.
 */
export async function compileBlocks({ repo, scratch, blocks }) {
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(join(scratch, 'node_modules'), { recursive: true });
  const link = join(scratch, 'node_modules/nestjs-token-introspection');
  if (!existsSync(link) && !lstatSync(link, { throwIfNoEntry: false })) symlinkSync(relative(join(scratch, 'node_modules'), repo) || '.', link, 'dir');
  const byFile = new Map();
  for (const p of PROJECTS) {
    const dir = join(scratch, p.name);
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify(p.packageJson, null, 2) + '\n');
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: NEST_APP, include: ['src/**/*.ts'] }, null, 2) + '\n');
    const taken = new Set();
    blocks.forEach((b, i) => {
      // A block whose first line names its file (`// src/cats.controller.ts`) is that file of its page's small app:
      // the page's named blocks are compiled together, so one may import another (`../src/auth.module`).
      const named = APP_FILE.exec(b.code.split('\n', 1)[0]);
      let file = `src/block${String(i + 1).padStart(3, '0')}.ts`;
      let code = b.code;
      if (named) {
        const inApp = `src/apps/${b.page.replace(/[^A-Za-z0-9]+/g, '-')}/${named[1]}`;
        if (!taken.has(inApp)) {
          taken.add(inApp);
          file = inApp;
          // An ESM app (@nestjs/cli 12) writes relative imports with `.js`; the README shows CommonJS ones (the page says so).
          if (p.name === 'esm') code = code.replace(/(from\s+|import\s*\(\s*)(['"])(\.{1,2}\/[^'"]+?)(?<!\.js)\2/g, '$1$2$3.js$2');
        }
      }
      byFile.set(file, b);
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), code);
    });
  }
  // Both projects in one program: with module nodenext each file's format (CommonJS or ESM) comes from its nearest
  // package.json, so one program checks both while reading the declaration files once (half the CPU of two programs).
  writeFileSync(
    join(scratch, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: NEST_APP, include: PROJECTS.map((p) => `${p.name}/src/**/*.ts`) }, null, 2) + '\n',
  );
  if (blocks.length === 0) return { failures: [] };
  const list = await typeCheck(repo, scratch);
  const errors = new Map(); // message -> projects
  {
    for (const d of list) {
      const [project, ...rest] = d.file.split('/');
      const b = byFile.get(rest.join('/'));
      const message = b ? `${b.page}:${b.line + d.line} (block ${b.index}, ${'\0'}): ${d.text}` : `${d.file ? `${d.file}:${d.line}: ` : ''}${d.text} (${'\0'})`;
      errors.set(message, [...new Set([...(errors.get(message) ?? []), project])]);
    }
  }
  const order = (m) => /^(.*?):(\d+) \(block/.exec(m) ?? ['', '\uffff', '0'];
  const failures = [...errors].map(([message, projects]) => message.replace('\0', projects.join(', ')));
  return { failures: failures.sort((a, b) => order(a)[1].localeCompare(order(b)[1]) || Number(order(a)[2]) - Number(order(b)[2])) };
}

if (process.argv[2] === '--worker') await worker(process.argv[3], process.argv[4]);
