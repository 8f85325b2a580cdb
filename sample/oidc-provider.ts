import type { default as OidcProvider } from 'oidc-provider';

/**
 * `oidc-provider`, loaded without the notice it prints when it is imported on Node 20 ("Unsupported runtime. Use
 * Node.js v22.x LTS"): this project supports Node 20, and the embedded authorization server works there
 * (TOOLCHAIN.md). That notice is about the demo's authorization server, not about the app a newcomer starts, who
 * cannot act on it. Only that line and only while the package loads: every other warning still prints.
 */
const warn = console.warn;
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && args[0].includes('oidc-provider WARNING: Unsupported runtime')) return;
  warn.apply(console, args);
};
let loaded: typeof import('oidc-provider');
try {
  loaded = await import('oidc-provider');
} finally {
  console.warn = warn;
}

export const Provider = loaded.default;
export type Provider = OidcProvider;
