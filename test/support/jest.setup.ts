// oidc-provider 9 announces at import time that Node 20 is not its preferred runtime (TOOLCHAIN.md: harmless).
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && args[0].startsWith('oidc-provider WARNING: Unsupported runtime')) return;
  warn(...args);
};
