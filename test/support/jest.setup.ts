// Expected notices of the test authorization server (oidc-provider), silenced; every other warning is printed.
const EXPECTED = [
  // oidc-provider 9 announces at import time that Node 20 is not its preferred runtime (TOOLCHAIN.md: harmless).
  'oidc-provider WARNING: Unsupported runtime',
  // Its SSRF guard (which refuses loopback and other special-use addresses) hooks Node's global fetch
  // dispatcher, which Jest's sandboxed globals do not expose. The only outgoing fetch of the test AS is
  // the private_key_jwt client's jwks_uri on 127.0.0.1, which that guard would refuse anyway.
  'oidc-provider WARNING: failed to setup SSRF protection for fetch',
];
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && EXPECTED.some((notice) => (args[0] as string).startsWith(notice))) return;
  warn(...args);
};
