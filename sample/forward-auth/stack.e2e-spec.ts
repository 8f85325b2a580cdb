// The forward-auth sample as `npm run sample:forward-auth` starts it (embedded AS, decision sidecar, the Python
// service, nginx with the shipped configuration), on free ports: what its printed curl commands promise.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { freePort } from '../../test/support/free-port.js';
import { describeWithNginx } from '../../test/support/nginx-required.js';
import { headerValues, httpCall } from '../../test/support/raw-http.js';
import { startForwardAuthStack, type ForwardAuthStack } from './stack.js';

describeWithNginx('the forward-auth sample: nginx in front of a Python service', () => {
  let stack: ForwardAuthStack;
  beforeAll(async () => {
    stack = await startForwardAuthStack({ nginx: await freePort(), sidecar: await freePort(), service: await freePort() }, 'express', { quiet: true });
  }, 30_000);
  afterAll(() => stack?.stop());

  it('no token: 401 with a Bearer challenge from nginx; a read token: the Python service answers with the identity and a phantom JWT', async () => {
    const denied = await httpCall(`${stack.url}/orders`);
    expect(denied.status).toBe(401);
    expect(headerValues(denied.rawHeaders, 'www-authenticate')).toHaveLength(1);
    const token = await stack.as.issueToken({ scope: 'read' });
    const res = await httpCall(`${stack.url}/orders`, { headers: { authorization: `Bearer ${token}`, 'x-auth-scopes': 'admin' } });
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body) as { service: string; identity: Record<string, string>; phantom_claims: Record<string, unknown> };
    expect(body.service).toBe('python');
    expect(body.identity['x-auth-scopes']).toBe('read');
    expect(body.phantom_claims).toMatchObject({ iss: 'https://edge.example', aud: 'https://orders.internal', scope: 'read' });
  });

  it('admin needs scope admin (403), a public location needs no token (200), and with the authorization server down a token not seen before is 503 + Retry-After', async () => {
    const read = await stack.as.issueToken({ scope: 'read' });
    expect((await httpCall(`${stack.url}/admin/users`, { headers: { authorization: `Bearer ${read}` } })).status).toBe(403);
    expect((await httpCall(`${stack.url}/public/status`)).status).toBe(200);
    const unseen = await stack.as.issueToken({ scope: 'read' });
    await stack.as.stop();
    const res = await httpCall(`${stack.url}/orders`, { headers: { authorization: `Bearer ${unseen}` } });
    expect([res.status, res.headers['retry-after']]).toEqual([503, expect.stringMatching(/^\d+$/)]);
  });
});
