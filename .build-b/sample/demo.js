/**
 * `npm run demo`: a scripted walk through what users care about, against the sample API and its
 * embedded authorization server. Prints every step with its HTTP status; exits 1 if any differs.
 */
import { IntrospectionService } from 'nestjs-token-introspection';
import { bootstrap } from './bootstrap.js';
process.env.AUTH_CACHE_TTL_SECONDS = '2'; // short, so the demo can show freshness ending
delete process.env.AUTH_ISSUER;
delete process.env.AUTH_INTROSPECTION_ENDPOINT;
const { app, url, embedded } = await bootstrap({ port: 0, logger: false, adapter: process.env.HTTP_ADAPTER });
const as = embedded;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let failures = 0;
async function step(title, expected, path, init = {}) {
    const t0 = performance.now();
    const res = await fetch(`${url}${path}`, {
        method: init.method ?? 'GET',
        headers: init.token ? { authorization: `Bearer ${init.token}` } : {},
    });
    const ms = performance.now() - t0;
    const body = await res.text();
    const ok = res.status === expected;
    if (!ok)
        failures++;
    const extra = [
        res.headers.get('www-authenticate') && `WWW-Authenticate: ${res.headers.get('www-authenticate')}`,
        res.headers.get('retry-after') && `Retry-After: ${res.headers.get('retry-after')}`,
    ].filter(Boolean);
    console.log(`${ok ? '✓' : '✗'} ${title.padEnd(66)} ${String(res.status)}${ok ? '' : ` (expected ${expected})`}  ${ms.toFixed(0).padStart(5)} ms`);
    for (const line of extra)
        console.log(`    ${line}`);
    if (!ok)
        console.log(`    body: ${body.slice(0, 300)}`);
    return body;
}
function note(text) {
    console.log(`  · ${text}`);
}
try {
    console.log(`\nDemo: sample API ${url} (${app.getHttpAdapter().getType()}), embedded authorization server ${as.issuer}\n`);
    const reader = await as.issueToken({ scope: 'read' });
    note('obtained a token with scope "read" (client-credentials grant at the real authorization server)');
    await step('GET /orders with the token', 200, '/orders', { token: reader });
    await step('GET /orders/stock: a phantom token to the internal stock service, validated there locally', 200, '/orders/stock', { token: reader });
    await step('GET /orders without a token', 401, '/orders');
    await step('GET /orders with a malformed header (two tokens)', 400, '/orders', { token: `${reader} extra` });
    await step('POST /orders needs scope "write": wrong scope', 403, '/orders', { method: 'POST', token: reader });
    await step('GET /reports needs "admin" or "write": wrong scope', 403, '/reports', { token: reader });
    await as.revoke(reader);
    note('revoked the token at the authorization server');
    await step('GET /orders right after revocation: still cached', 200, '/orders', { token: reader });
    await app.get(IntrospectionService).evict(reader);
    note('evicted it from the cache with IntrospectionService.evict() (without that: within AUTH_CACHE_TTL_SECONDS = 2 s)');
    await step('GET /orders after eviction', 401, '/orders', { token: reader });
    await step('GET /orders/stock after eviction: no phantom token minted', 401, '/orders/stock', { token: reader });
    const writer = await as.issueToken({ scope: 'read write' });
    await step('POST /orders with scopes "read write"', 201, '/orders', { method: 'POST', token: writer });
    await step('GET /catalog (serve-stale route) caches the result', 200, '/catalog', { token: writer });
    await step('GET /health/ready while the authorization server is up', 200, '/health/ready');
    await as.stop();
    note('stopped the authorization server; waiting 2.1 s for the cached result to lose freshness');
    await sleep(2100);
    await step('GET /orders (fail-closed) while the AS is down: 503, not 401', 503, '/orders', { token: writer });
    note('each of these tries the AS (with retries); the sample opens its circuit breaker after 3 failed lookups');
    await step('GET /orders, 2nd failed lookup: 503', 503, '/orders', { token: writer });
    await step('GET /orders, 3rd failed lookup: 503, the breaker opens', 503, '/orders', { token: writer });
    await step('GET /orders with the breaker open: 503 at once, Retry-After = time to probe', 503, '/orders', { token: writer });
    const stale = await step('GET /catalog (serve-stale) with the cached token: still 200', 200, '/catalog', { token: writer });
    note(`response: ${stale}`);
    await step('GET /health/ready: down (readiness removes the pod from rotation)', 503, '/health/ready');
    await step('GET /health/live: still up (no restart for an AS outage)', 200, '/health/live');
    await as.restart();
    note('restarted the authorization server (in-memory: every earlier token is gone); waiting for the breaker to probe again');
    await sleep(2100);
    await step('GET /health/ready after the restart: up again', 200, '/health/ready');
    const fresh = await as.issueToken({ scope: 'read' });
    await step('GET /orders with a token issued after the restart', 200, '/orders', { token: fresh });
    await step('GET /orders with a pre-restart token: the AS forgot it', 401, '/orders', { token: writer });
    const scrape = await (await fetch(`${url}/metrics`)).text();
    const breakerLine = scrape.split('\n').find((l) => l.startsWith('token_introspection_circuit_breaker_state'));
    const hitLine = scrape.split('\n').find((l) => l.startsWith('token_introspection_cache_lookups_total{result="hit"'));
    const ok = Boolean(breakerLine && hitLine);
    if (!ok)
        failures++;
    console.log(`${ok ? '✓' : '✗'} GET /metrics (Prometheus): ${breakerLine ?? 'no breaker gauge'}; ${hitLine ?? 'no cache hits'}`);
    console.log(failures === 0 ? '\nDemo passed: every step answered as expected.\n' : `\nDemo FAILED: ${failures} step(s) differed.\n`);
}
finally {
    await app.close();
    await as.stop();
}
process.exit(failures === 0 ? 0 : 1);
