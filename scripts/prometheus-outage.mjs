#!/usr/bin/env node
/**
 * `node scripts/prometheus-outage.mjs` (after `npm run build:scripts`): the alert rules and the Grafana
 * dashboard's queries against a real Prometheus server scraping the real sample.
 *
 * 1. Starts the sample's authorization server (`sample/authorization-server.ts`, a real oidc-provider),
 *    the sample API against it (`/metrics` in Prometheus format), and Prometheus 2.x (Debian package)
 *    on 127.0.0.1 with a 1 s scrape and evaluation interval, its data in a temporary directory.
 * 2. Sends a small steady stream of token-bearing requests (10/s, cache TTL 1 s so lookups happen).
 * 3. Stops the authorization server: TokenIntrospectionCircuitBreakerOpen and
 *    TokenIntrospectionErrorBudgetFastBurn must fire.
 * 4. Starts it again on the same port: the breaker alert must resolve (the burn-rate alert keeps
 *    firing until its 5-minute window is clean, longer than this run).
 * 5. Runs every query of observability/grafana/token-introspection.dashboard.json: each must succeed
 *    and return data.
 *
 * The rules are observability/prometheus/token-introspection.rules.yml unchanged except `for:`,
 * shortened to 5s so the run takes about a minute (`promtool test rules` covers the real durations).
 * Everything listens on 127.0.0.1; the whole run is bounded (RUN_LIMIT_MS) and stops what it started.
 * Exit code 0 when every check passed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUN_LIMIT_MS = Number(process.env.RUN_LIMIT_MS ?? 180_000);
const ALERT = 'TokenIntrospectionCircuitBreakerOpen';
const BURN = 'TokenIntrospectionErrorBudgetFastBurn';
const started = Date.now();
const dir = mkdtempSync(join(tmpdir(), 'prom-outage-'));
const children = new Set();
const log = (line) => console.log(`[+${((Date.now() - started) / 1000).toFixed(1)} s] ${line}`);

if (!existsSync(join(root, '.build/sample/main.js'))) {
  console.error('Run `npm run build && npm run build:scripts` first (.build/sample/main.js is missing).');
  process.exit(2);
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function start(name, command, args, env = {}) {
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  child.on('exit', () => children.delete(child));
  children.add(child);
  child.name = name;
  child.output = () => output;
  return child;
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function cleanup() {
  for (const child of [...children]) await stop(child);
  rmSync(dir, { recursive: true, force: true });
}

async function waitFor(what, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch {
      // not ready yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const [asPort, appPort, promPort] = [await freePort(), await freePort(), await freePort()];
  const envFile = join(dir, 'as.env');
  const startAs = () =>
    start('authorization server', process.execPath, ['.build/sample/authorization-server.js'], { AUTH_PORT: String(asPort), AS_ENV_FILE: envFile });
  const as = startAs();
  await waitFor('the authorization server', () => existsSync(envFile) && readFileSync(envFile, 'utf8').includes('AS_APP_CLIENT'), 30_000);
  const asEnv = Object.fromEntries(
    readFileSync(envFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) =>
        l
          .replace(/^export /, '')
          .split(/=(.*)/s)
          .slice(0, 2),
      )
      .map(([k, v]) => [k, v.replace(/^'|'$/g, '')]),
  );
  const { AS_TOKEN_ENDPOINT, AS_APP_CLIENT, ...appEnv } = asEnv;
  const app = start('sample API', process.execPath, ['.build/sample/main.js'], { ...appEnv, PORT: String(appPort), AUTH_CACHE_TTL_SECONDS: '1' });
  const api = `http://127.0.0.1:${appPort}`;
  await waitFor('the sample API', async () => (await fetch(`${api}/metrics`)).ok, 30_000);
  log(`authorization server on 127.0.0.1:${asPort}, sample API on ${api}`);

  // Prometheus: the real rules, `for:` shortened; the job scrapes the sample every second.
  const rules = readFileSync(join(root, 'observability/prometheus/token-introspection.rules.yml'), 'utf8').replace(/^(\s+)for: \S+$/gm, '$1for: 5s');
  writeFileSync(join(dir, 'rules.yml'), rules);
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      // A 2 s scrape timeout: on a loaded machine a 1 s one fails scrapes, the series go stale and `for:` restarts.
      'global: { scrape_interval: 2s, scrape_timeout: 2s, evaluation_interval: 1s }',
      'rule_files: [rules.yml]',
      'scrape_configs:',
      `  - job_name: sample-api`,
      `    static_configs: [{ targets: ["127.0.0.1:${appPort}"] }]`,
      '',
    ].join('\n'),
  );
  const prom = start('prometheus', 'prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
    '--storage.tsdb.retention.time=1h',
  ]);
  const promUrl = `http://127.0.0.1:${promPort}`;
  await waitFor('Prometheus', async () => (await fetch(`${promUrl}/-/ready`)).ok, 30_000);
  log(`Prometheus on ${promUrl} (scrape every 2 s, evaluation every 1 s)`);

  // Traffic: 10 token-bearing requests per second; a new token whenever the AS has forgotten ours.
  const basic = `Basic ${Buffer.from(AS_APP_CLIENT).toString('base64')}`;
  const newToken = async () => {
    const res = await fetch(AS_TOKEN_ENDPOINT, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=read',
    });
    return res.ok ? (await res.json()).access_token : undefined;
  };
  let token = await newToken();
  const statuses = {};
  let driving = true;
  const driver = (async () => {
    while (driving) {
      try {
        const res = await fetch(`${api}/orders`, { headers: { authorization: `Bearer ${token}` } });
        await res.arrayBuffer();
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (res.status === 401) token = (await newToken().catch(() => undefined)) ?? token;
      } catch {
        statuses.error = (statuses.error ?? 0) + 1;
      }
      await sleep(100);
    }
  })();

  const alertState = async (name = ALERT) => {
    const body = await (await fetch(`${promUrl}/api/v1/alerts`)).json();
    return body.data.alerts.find((a) => a.labels.alertname === name)?.state ?? 'inactive';
  };
  const query = async (expr) => {
    const body = await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`)).json();
    if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
    return body.data.result;
  };
  const failures = [];

  await waitFor('a few healthy scrapes', async () => (await query('token_introspection_guard_decisions_total{decision="allowed"}')).length > 0, 20_000);
  await sleep(6000);
  const healthy = await alertState();
  log(`healthy: ${ALERT} is ${healthy}; responses so far ${JSON.stringify(statuses)}`);
  if (healthy !== 'inactive') failures.push(`${ALERT} was ${healthy} while the AS was healthy`);

  await stop(as);
  const stoppedAt = Date.now();
  log('authorization server stopped');
  await waitFor(`${ALERT} to fire`, async () => (await alertState()) === 'firing', 90_000);
  log(`${ALERT} FIRING ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s after the stop (for: 5s here); responses ${JSON.stringify(statuses)}`);

  // Every token-bearing request gets 503 now: the fast error-budget burn pages too.
  await waitFor(`${BURN} to fire`, async () => (await alertState(BURN)) === 'firing', 30_000);
  log(`${BURN} FIRING ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s after the stop`);

  startAs(); // stopped with the other children at the end
  const restartedAt = Date.now();
  await waitFor('the authorization server again', async () => (await fetch(`http://127.0.0.1:${asPort}/.well-known/openid-configuration`)).ok, 30_000);
  log('authorization server started again (same port; it has forgotten every token)');
  await waitFor(`${ALERT} to resolve`, async () => (await alertState()) === 'inactive', 90_000);
  log(`${ALERT} resolved ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after the restart; responses ${JSON.stringify(statuses)}`);
  await sleep(2000);
  driving = false;
  await driver;

  // Every dashboard query, as Grafana would send it.
  const dashboard = JSON.parse(readFileSync(join(root, 'observability/grafana/token-introspection.dashboard.json'), 'utf8'));
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
  for (const { panel, expr } of exprs) {
    const grafanaExpr = expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', '.+');
    try {
      const result = await query(grafanaExpr);
      if (result.length === 0) failures.push(`dashboard panel "${panel}": no data for ${grafanaExpr}`);
    } catch (error) {
      failures.push(`dashboard panel "${panel}": ${error.message}`);
    }
  }
  log(`${exprs.length} dashboard queries run against Prometheus`);
  for (const child of [app, prom]) if (child.exitCode !== null) failures.push(`${child.name} exited early:\n${child.output()}`);
  return failures;
}

const limit = setTimeout(() => {
  console.error(`prometheus-outage: run limit of ${RUN_LIMIT_MS} ms reached`);
  void cleanup().then(() => process.exit(1));
}, RUN_LIMIT_MS);
let failures;
try {
  failures = await main();
} catch (error) {
  failures = [error.message];
  for (const child of children) console.error(`--- ${child.name} output (last 2000 characters) ---\n${child.output().slice(-2000)}`);
}
clearTimeout(limit);
await cleanup();
if (failures.length) {
  console.error(`prometheus-outage FAILED:\n- ${failures.join('\n- ')}`);
  process.exit(1);
}
log('prometheus-outage passed: the outage alert fired and resolved; every dashboard query returned data');
