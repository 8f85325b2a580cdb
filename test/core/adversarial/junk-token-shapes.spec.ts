// Adversarial review of junk token shapes sent to the authorization server (round 11; was attack11-junk-shapes).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuthorizationServerUnavailableError, type IntrospectionService } from '../../../lib/index.js';
import { TestAuthorizationServer, introspectionAt } from '../../support/authorization-server.js';
import { createEngine } from '../../support/engine.js';

/** Attack (issue 11 review): token shapes that might make the real oidc-provider answer something other than a verdict. */
describe('junk token shapes against the real oidc-provider', () => {
  let as: TestAuthorizationServer;
  let service: IntrospectionService;
  let close: () => Promise<void>;
  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    ({ service, close } = await createEngine({
      ...introspectionAt(as),
      cache: false,
      resilience: { retries: 0, circuitBreaker: { consecutiveFailures: 1000, halfOpenAfterMs: 1000 } },
    }));
  });
  afterAll(async () => {
    await close?.();
    await as?.stop();
  });

  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const SHAPES: Record<string, string> = {
    'jwt alg none': `${b64({ alg: 'none' })}.${b64({ sub: 'x' })}.`,
    'jwt alg none, no dot': `${b64({ alg: 'none' })}.${b64({})}`,
    'jwt RS256 random kid': `${b64({ alg: 'RS256', kid: 'zzz' })}.${b64({ iss: 'x', exp: 9999999999 })}.${'A'.repeat(342)}`,
    'jwt HS256': `${b64({ alg: 'HS256', typ: 'at+jwt' })}.${b64({ iss: 'x' })}.abc`,
    'jwe-like 5 parts': `${b64({ alg: 'dir', enc: 'A128GCM' })}..AAAA.BBBB.CCCC`,
    'jwt header not json': `${Buffer.from('{{{').toString('base64url')}.e30.x`,
    'jwt header array': `${b64([1, 2])}.e30.x`,
    'jwt header __proto__': `${Buffer.from('{"__proto__":{"alg":"none"},"alg":"none"}').toString('base64url')}.e30.x`,
    'dots only': '....',
    'one dot': 'a.b',
    'long dotted': 'a.'.repeat(1000) + 'a',
    '43-char opaque': 'A'.repeat(43),
    'max length 4096': 'Z'.repeat(4096),
    'max length b64 padded': 'Z'.repeat(4094) + '==',
    'plus and slash': '+/+/+/+/+/+/+/+/',
    tilde: '~~~~~~~~',
    'paseto-like': 'v4.public.' + 'A'.repeat(80),
    'big json payload': `${b64({ alg: 'RS256' })}.${b64({ x: 'y'.repeat(2500) })}.sig`,
  };

  it('no junk shape makes the AS answer anything that feeds the breaker (every shape is a verdict: inactive)', async () => {
    const outcomes: Record<string, string> = {};
    for (const [name, token] of Object.entries(SHAPES)) {
      outcomes[name] = await service.introspect(token).then(
        (r) => (r.active ? 'ACTIVE' : 'inactive'),
        (e: unknown) => (e instanceof AuthorizationServerUnavailableError ? `${e.reason}${e.status ? ` ${e.status}` : ''}` : `error ${String(e)}`),
      );
    }
    const bad = Object.fromEntries(Object.entries(outcomes).filter(([, o]) => o !== 'inactive'));
    expect(bad).toEqual({});
    expect(service.circuitState).toBe('closed');
  }, 60_000);
});
