/** Option resolution for start-up tests of token sources (internal helpers of the library). */
export { IntrospectionConfigurationError } from '../../lib/index.js';
export { resolveOptions as resolveOptionsForTests } from '../../lib/options/resolve-options.js';
