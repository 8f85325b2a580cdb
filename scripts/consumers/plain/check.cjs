// The HTTP checks both plain consumers run against their app and the real authorization server.
async function check(url, label, facts) {
  let failures = 0;
  const report = (ok, what, detail = '') => {
    if (!ok) failures++;
    console.log(`${ok ? '✓' : '✗'} [${label}] ${what}${detail}`);
  };
  for (const [what, ok] of facts) report(ok, what);
  async function expectStatus(what, method, path, token, status) {
    const res = await fetch(url + path, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
    report(res.status === status, what, `: ${res.status}${res.status === status ? '' : ` (expected ${status})`}`);
  }
  await expectStatus('public route', 'GET', '/', undefined, 200);
  await expectStatus('token with scope read', 'GET', '/orders', process.env.READ_TOKEN, 200);
  await expectStatus('no token', 'GET', '/orders', undefined, 401);
  await expectStatus('unknown token', 'GET', '/orders', 'not-a-token-the-as-issued', 401);
  await expectStatus('scope write missing', 'POST', '/orders', process.env.READ_TOKEN, 403);
  await expectStatus('scopes read write', 'POST', '/orders', process.env.WRITE_TOKEN, 201);
  return failures;
}
module.exports = { check };
