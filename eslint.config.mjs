// ESLint flat config (issue 24 item 5): typescript-eslint's type-aware recommended set for lib/, test/,
// sample/ and bench/ (one TypeScript program per tsconfig, found by the project service), plain
// JavaScript rules for the .mjs/.cjs/.js scripts. Formatting is Prettier's job (eslint-config-prettier last).
// Rules switched off or down below flag idioms this code uses on purpose; each says why.
// Rules that find real defects (no-floating-promises, no-misused-promises, await-thenable,
// only-throw-error, no-unsafe-argument/-return in lib/ …) stay errors.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Jest suites and their support files: unit specs live next to the code in lib/. */
const TESTS = ['**/*.spec.ts', '**/*.e2e-spec.ts', '**/*.chaos-spec.ts', 'test/**/*.ts'];
/** Runnable demos and benchmarks: they drive real servers and read their untyped JSON. */
const TOOLS = ['sample/**/*.ts', 'bench/**/*.ts'];
/** Plain JavaScript: build and CI scripts, Jest's config and reporters, the consumer checks. */
const JS = ['**/*.{js,mjs,cjs}'];

export default defineConfig(
  globalIgnores(['dist/', '.build/', '.bench-build/', 'coverage/', 'bench/results/']),

  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },

  // Everywhere.
  {
    rules: {
      // `async` is how this code satisfies Promise-returning interfaces (key resolvers, cache stores, Nest's
      // canActivate, oidc-provider policies) and turns a throw into a rejection; a forgotten await is caught
      // by no-floating-promises / no-misused-promises instead.
      '@typescript-eslint/require-await': 'off',
      // `const { d, p, q, ...pub } = jwk` drops private members on purpose; `_name` marks a deliberately unused binding.
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          ignoreRestSiblings: true,
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
        },
      ],
      // `let self: X | undefined; … callbacks read self …; self = new X(server)`: the callbacks are written first.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // Passing a caught `unknown` error on unchanged (interceptors, single-flight followers) is not a new throw.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // Header and metadata validation rejects control characters with regexes that name them on purpose.
      'no-control-regex': 'off',
    },
  },

  // lib/: the library.
  {
    files: ['lib/**/*.ts'],
    rules: {
      // Request, response and socket objects of whichever adapter (Express, Fastify, ws, microservices) are
      // `any` on purpose: the guard is adapter-neutral; strict mode already forbids implicit any.
      '@typescript-eslint/no-explicit-any': 'off',
      // Reading fields of those adapter objects and of JSON.parse()d authorization-server answers, which the
      // code checks by hand at run time (typeof / Array.isArray). An `any` crossing a function boundary is
      // still an error (no-unsafe-argument, no-unsafe-return).
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      // String(value) is how untrusted values (answers of the authorization server, option values) are printed in
      // messages: it never throws, unlike JSON.stringify on a BigInt or a cycle.
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },

  // Tests, samples, benchmarks.
  {
    files: [...TESTS, ...TOOLS],
    rules: {
      // Fakes, spies and `(service as any).cache` reach into internals and untyped answers on purpose.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // `Controller.prototype.handle` is passed as a handler identity to ExecutionContextHost; Jest's
      // `describe`/`it` are destructured; neither is called with the wrong `this`.
      '@typescript-eslint/unbound-method': 'off',
      // String(data) of a ws message (Buffer) is how the suites read frames.
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  {
    files: TESTS,
    rules: {
      // Suites hand async event hooks to the `() => void` hook type on purpose, to prove the library absorbs
      // their rejections; every other misused promise is still an error.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { properties: false } }],
    },
  },

  // Plain JavaScript files: no type information.
  {
    files: JS,
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    // The CommonJS consumer check exists to call require().
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  // Consumer-app templates: compiled inside generated apps against the built package, in no tsconfig here.
  {
    files: ['scripts/consumers/**/*.ts'],
    extends: [tseslint.configs.disableTypeChecked],
  },

  // The architecture fence (no circles, the core imports no capability, capabilities import only the core and
  // keys/) is dependency-cruiser's: `npm run architecture`, tools/architecture/dependency-cruiser.cjs.

  // Formatting belongs to Prettier: switch off every stylistic rule it would fight with. Keep last.
  prettier,
);
