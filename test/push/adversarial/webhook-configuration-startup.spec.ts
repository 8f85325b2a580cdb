// Adversarial review of revocation webhook configurations (round 10; was attack-webhook-config).
import { describe, expect, it } from '@jest/globals';
import { IntrospectionModule } from '../../../lib/index.js';
import { startApp } from '../../support/app.js';
import { CLIENTS } from '../../support/authorization-server.js';

const SECRET = 'webhook-secret-0123456789abcdef';

/**
 * Review 10 attack: webhook configurations that start but cannot do what the operator asked.
 * "Clear errors at start-up, each saying what to change."
 */
describe('revocation webhook configurations that cannot do what was asked are refused at start-up', () => {
  const base = { introspectionEndpoint: 'http://127.0.0.1:9/introspect', allowInsecureRequests: true, ...CLIENTS.basic, revocationWebhookSecret: SECRET };
  const start = (webhook: unknown, cache?: unknown) =>
    startApp('express', IntrospectionModule.forRoot({ ...base, cache: cache as never, revocationWebhook: webhook as never }));

  it.each([['all'], ['every-replica'], ['All-Replicas']])(
    'an unknown scope (%s) with the in-memory cache is refused (it evicts on this replica only, while the operator asked for all)',
    async (scope) => {
      const started = start({ path: 'hook', scope }, undefined);
      const outcome = await started.then(
        async (app) => {
          await app.app.close();
          return 'started';
        },
        (error: Error) => error.message,
      );
      expect(outcome).toMatch(/scope/); // observed: 'started'
    },
  );

  it('a webhook without a path (JavaScript caller, or an empty string) is refused instead of taking POST /', async () => {
    const outcome = await start({ path: '', scope: 'this-replica' }, undefined).then(
      async (app) => {
        const status = (
          await fetch(`${app.url}/`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
            body: '{"sub":"x"}',
          })
        ).status;
        await app.app.close();
        return `started; POST / answered ${status}`;
      },
      (error: Error) => error.message,
    );
    expect(outcome).toMatch(/path/); // observed: 'started; POST / answered 200' (the webhook sits at the root)
  });
});
