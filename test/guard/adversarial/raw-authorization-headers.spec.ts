// Adversarial review of the RFC 6750 header handling (round 11; was attack11-rfc6750-raw).
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { ADAPTERS, startApp } from '../../support/app.js';
import { FaultyServer } from '../../support/faulty-server.js';

/** One raw HTTP/1.1 request (header lines exactly as given); resolves the status and WWW-Authenticate. */
function raw(url: string, headerLines: string[]): Promise<{ status: number; challenge?: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let data = '';
    socket.on('data', (c) => (data += c.toString('latin1')));
    socket.on('error', reject);
    socket.on('end', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      const challenge = /\r\nwww-authenticate: ([^\r]*)/i.exec(data)?.[1];
      resolve({ status, challenge });
    });
    socket.write(['GET /orders HTTP/1.1', `Host: ${hostname}`, 'Connection: close', ...headerLines, '', ''].join('\r\n'));
  });
}

/** Attack (issue 11 review): the RFC 6750 behaviour table with header shapes a fetch() client cannot send. */
describe.each(ADAPTERS)('raw Authorization headers over %s', (adapter) => {
  let app: INestApplication;
  let url: string;
  let as: FaultyServer;
  beforeAll(async () => {
    as = await FaultyServer.start((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ active: true, scope: 'read', client_id: 'app', exp: Math.floor(Date.now() / 1000) + 600 }));
    });
    ({ app, url } = await startApp(adapter, {
      introspectionEndpoint: as.url,
      allowInsecureRequests: true,
      clientId: 'api',
      clientSecret: 'super-secret-value-77',
    }));
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
  });

  it.each([
    ['scheme then a tab', ['Authorization: Bearer\tabc123'], 400],
    ['lowercase scheme', ['Authorization: bearer abc123'], 200],
    ['other scheme', ['Authorization: Basic YTpi'], 401],
    ['scheme only', ['Authorization: Bearer'], 400],
    ['two tokens in one header', ['Authorization: Bearer abc def'], 400],
    ['empty header', ['Authorization: '], 401],
  ])('%s', async (_name, lines, status) => {
    const res = await raw(url, lines);
    expect(res.status).toBe(status);
    if (status === 401) expect(res.challenge).toBe('Bearer');
    if (status === 400) expect(res.challenge).toMatch(/^Bearer error="invalid_request"/);
  });

  it('two Authorization headers (RFC 9110 §5.3: not a list field) are refused as malformed, not silently resolved to the first', async () => {
    const res = await raw(url, ['Authorization: Bearer first-token', 'Authorization: Bearer second-token']);
    // Expected (DESIGN: "Send exactly one Authorization header" → 400 invalid_request). Observed: 200 — Node keeps the first and drops the rest.
    expect(res.status).toBe(400);
  });
});
