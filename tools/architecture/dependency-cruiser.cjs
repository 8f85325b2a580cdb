/**
 * The architecture fence of lib/ (see docs: one core, capabilities at its edges). Run: `npm run architecture`.
 * - no import circles, type imports counted (tsPreCompilationDeps);
 * - the core never imports a capability: only the composition root names them all;
 * - capabilities never import each other, except the shared key-set support in keys/;
 * - capabilities never import the composition root.
 */
const FEATURES = 'jwt|dpop|connections|metadata|push|phantom|outbound|forward-auth|keys';
const ROOT = [
  '^lib/index\\.ts$',
  '^lib/introspection\\.module\\.ts$',
  '^lib/introspection\\.module-definition\\.ts$',
  '^lib/interfaces/introspection-module-options\\.interface\\.ts$',
  '^lib/options/resolve-options\\.ts$',
  '^lib/tenant-engines\\.ts$',
];

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle (type imports count): move the shared type to a leaf file or a port.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-knows-no-capability',
      severity: 'error',
      comment:
        'The core (engine, cache, resilience, client, guard, health, telemetry, …) must not import a capability: define a port in lib/ports.ts and let the capability provide it.',
      from: { path: '^lib/', pathNot: [`^lib/(${FEATURES})/`, ...ROOT, '^lib/testing/'] },
      to: { path: `^lib/(${FEATURES})/` },
    },
    {
      name: 'capabilities-are-independent',
      severity: 'error',
      comment: 'A capability imports the core and keys/, never another capability.',
      from: { path: `^lib/(jwt|dpop|connections|metadata|push|phantom|outbound|forward-auth)/` },
      to: { path: `^lib/(jwt|dpop|connections|metadata|push|phantom|outbound|forward-auth)/`, pathNot: ['^lib/$1/'] },
    },
    {
      name: 'keys-is-a-leaf-capability',
      severity: 'error',
      comment: 'keys/ is shared by jwt and push: it imports the core only.',
      from: { path: '^lib/keys/' },
      to: { path: `^lib/(jwt|dpop|connections|metadata|push|phantom|outbound|forward-auth)/` },
    },
    {
      name: 'nothing-imports-the-composition-root',
      severity: 'error',
      comment:
        'Only the composition root (index, module, module definition, the composed options type, resolveOptions) names every capability; the rest of lib/ must not import it.',
      from: { path: '^lib/', pathNot: [...ROOT, '^lib/testing/'] },
      to: { path: ROOT },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['\\.spec\\.ts$', '^node_modules'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js'] },
    moduleSystems: ['es6', 'cjs'],
  },
};
