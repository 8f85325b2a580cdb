// Adversarial review of the push receivers' body limit (round 16a; was attack16a-halfread).
import { describe, expect, it } from '@jest/globals';
import { connect } from 'node:net';
import { IntrospectionModule } from '../../../lib/index.js';
import { ADAPTERS, OrdersController, startApp, type AdapterName } from '../../support/app.js';

/**
 * Review 16a, finding F5: a body larger than `maxBodyBytes` is answered 400 but the request stream is paused and
 * never drained or closed (readLimited: `stream.pause()`): the connection stays pinned until the client leaves, and
 * graceful shutdown (app.close) waits for it.
 */
describe.each(ADAPTERS)('oversized SET body on %s', (adapter: AdapterName) => {
  it('after the 400, the server closes the connection (app.close() is not held up)', async () => {
    const { app, url } = await startApp(
      adapter,
      IntrospectionModule.forRoot({
        introspectionEndpoint: 'http://127.0.0.1:9/introspect',
        clientId: 'x',
        clientSecret: 'y',
        allowInsecureRequests: true,
        cache: {},
        securityEvents: { issuer: 'https://ssf.example.com', audience: 'a', jwks: { keys: [] }, maxBodyBytes: 1024 },
        securityEventReceiver: { path: 'ssf/events', scope: 'this-replica' },
      }),
      [OrdersController],
    );
    const { port } = new URL(url);
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    let closedByServer = false;
    socket.on('data', (d) => (answer += d.toString()));
    socket.on('close', () => (closedByServer = true));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`POST /ssf/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/secevent+jwt\r\nTransfer-Encoding: chunked\r\n\r\n`);
    socket.write(`1000\r\n${'a'.repeat(4096)}\r\n`); // over the limit, and the body never ends
    await new Promise((r) => setTimeout(r, 1000));
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    const t0 = Date.now();
    const closing = app.close();
    const closedInTime = await Promise.race([closing.then(() => true), new Promise((r) => setTimeout(() => r(false), 3000))]);
    const elapsed = Date.now() - t0;
    socket.destroy();
    await closing;
    expect({ closedByServer, closedInTime, elapsedUnder3s: elapsed < 3000 }).toEqual({ closedByServer: true, closedInTime: true, elapsedUnder3s: true });
  }, 20_000);
});
