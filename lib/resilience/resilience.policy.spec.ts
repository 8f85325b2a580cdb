import { describe, expect, it } from '@jest/globals';
import { AuthorizationServerUnavailableError, type UnavailableReason } from '../errors/introspection.errors.js';
import { resolveOptions } from '../options/resolve-options.js';
import { ResiliencePolicy } from './resilience.policy.js';

/** A policy without retries whose breaker opens after 2 counted failures and stays open for a minute. */
const policy = () =>
  new ResiliencePolicy(
    resolveOptions({
      introspectionEndpoint: 'http://127.0.0.1:1/introspect',
      clientId: 'api',
      clientSecret: 's',
      allowInsecureRequests: true,
      resilience: { retries: 0, circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 } },
    }).resilience,
  );
const failing = (reason: UnavailableReason) => async () => {
  throw new AuthorizationServerUnavailableError(reason, 1, `failed: ${reason}`);
};
const caught = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as AuthorizationServerUnavailableError,
  );

describe('ResiliencePolicy: what opened the circuit breaker', () => {
  it.each(['rate_limited', 'server_error', 'connection_failed'] as const)(
    'a breaker opened by %s failures fails fast with circuit_open whose circuitOpenedBy names that reason',
    async (reason) => {
      const p = policy();
      for (let i = 0; i < 2; i++) expect((await caught(p.execute(failing(reason))))?.reason).toBe(reason);
      expect(p.state).toBe('open');
      const open = await caught(p.execute(failing('server_error')));
      expect(open).toBeInstanceOf(AuthorizationServerUnavailableError);
      expect([open?.reason, open?.circuitOpenedBy]).toEqual(['circuit_open', reason]);
    },
  );

  it('the last counted failure before the breaker opened is the one it names (a 5xx after a 429: server_error)', async () => {
    const p = policy();
    await caught(p.execute(failing('rate_limited')));
    await caught(p.execute(failing('server_error')));
    expect((await caught(p.execute(failing('timeout'))))?.circuitOpenedBy).toBe('server_error');
  });

  it('errors of other reasons carry no circuitOpenedBy', async () => {
    const p = policy();
    const error = await caught(p.execute(failing('server_error')));
    expect(error?.reason).toBe('server_error');
    expect(error?.circuitOpenedBy).toBeUndefined();
  });
});
