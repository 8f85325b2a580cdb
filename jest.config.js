/** Jest 30 in native ESM mode (run through `node --experimental-vm-modules`), TypeScript via @swc/jest. */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/lib', '<rootDir>/test', '<rootDir>/sample'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    // The sample imports the library by its package name, as users do.
    '^nestjs-token-introspection$': '<rootDir>/lib/index.ts',
    '^nestjs-token-introspection/([a-z-]+)$': '<rootDir>/lib/$1/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'es6' },
      },
    ],
  },
  setupFiles: ['<rootDir>/test/support/jest.setup.ts'],
  // Suites that need redis-server record a skip where it is missing; the run ends with one line saying so.
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  reporters: ['default', '<rootDir>/test/support/skip-reporter.mjs', '<rootDir>/test/support/inventory-reporter.mjs'],
  testTimeout: 30000,
  // Integration suites start real servers; keep two workers on these 2-core machines.
  maxWorkers: 2,
};
