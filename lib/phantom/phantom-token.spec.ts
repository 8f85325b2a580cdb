import { describe, expect, it } from '@jest/globals';
import { HttpException } from '@nestjs/common';
import { AuthorizationServerUnavailableError, IntrospectionConfigurationError, InvalidTokenError } from '../errors/introspection.errors.js';
import type { IntrospectionService } from '../introspection.service.js';
import { resolveOptions } from '../options/resolve-options.js';
import { OutboundTokenService } from '../outbound/outbound-token.service.js';
import { PhantomTokenPipe } from './phantom-token.decorator.js';
import { PhantomTokenError, PhantomTokenService } from './phantom-token.service.js';

const engine = {} as IntrospectionService;

function configError(build: () => unknown): string {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(IntrospectionConfigurationError);
    return (error as Error).message;
  }
  throw new Error('expected a configuration error');
}

describe('phantom options', () => {
  it('says what to change for each problem, all at once', () => {
    const message = configError(() => new PhantomTokenService({ issuer: 'edge', audiences: [], lifetimeSeconds: 7200, claims: ['exp', 'username'] }, engine));
    expect(message).toMatch(/phantom\.issuer.*absolute URI/);
    expect(message).toMatch(/phantom\.audiences/);
    expect(message).toMatch(/lifetimeSeconds.*1 to 3600/);
    expect(message).toMatch(/'exp'.*sets itself/);
    expect(message).not.toMatch(/username/);
  });

  it('a key that cannot sign fails start-up', async () => {
    const service = new PhantomTokenService({ issuer: 'https://edge', audiences: ['https://a'], keys: [{ privateKey: 'not a pem' }] }, engine);
    await expect(service.onModuleInit()).rejects.toThrow(/phantom\.keys.*PKCS#8/);
  });

  it('minting needs the feature, a validated request and a listed audience (checked before any lookup)', async () => {
    await expect(new PhantomTokenService(undefined, engine).mint('t')).rejects.toMatchObject({ code: 'disabled' });
    const service = new PhantomTokenService({ issuer: 'https://edge', audiences: ['https://a'] }, engine);
    await expect(service.forRequest({})).rejects.toMatchObject({ code: 'no_validated_token' });
    await expect(service.mint('t', 'https://other')).rejects.toMatchObject({ code: 'unknown_audience' });
  });
});

describe('PhantomTokenPipe', () => {
  const response = () => {
    const headers: Record<string, string> = {};
    return { headers, header: (n: string, v: string) => (headers[n] = v) };
  };
  const pipeFailingWith = (error: unknown) => new PhantomTokenPipe({ forRequest: () => Promise.reject(error) } as unknown as PhantomTokenService);
  const statusOf = async (pipe: PhantomTokenPipe, value: object) => {
    try {
      await pipe.transform(value as never);
    } catch (error) {
      expect(error).toBeInstanceOf(HttpException);
      return (error as HttpException).getStatus();
    }
    throw new Error('expected a rejection');
  };

  it('a source token refused since the guard accepted it: 401 invalid_token with a challenge', async () => {
    const res = response();
    expect(await statusOf(pipeFailingWith(new InvalidTokenError('inactive')), { request: {}, response: res })).toBe(401);
    expect(res.headers['WWW-Authenticate']).toMatch(/^Bearer error="invalid_token"/);
  });

  it('the authorization server cannot say, or a fail-open route during an outage: 503 + Retry-After, never 500', async () => {
    let res = response();
    const unavailable = new AuthorizationServerUnavailableError('timeout', 7, 'slow');
    expect(await statusOf(pipeFailingWith(unavailable), { request: {}, response: res })).toBe(503);
    expect(res.headers['Retry-After']).toBe('7');
    res = response();
    const noToken = new PhantomTokenError('no_validated_token', 'none');
    const outage = { introspectionOutage: { reason: 'timeout', retryAfterSeconds: 3 } };
    expect(await statusOf(pipeFailingWith(noToken), { request: outage, response: res })).toBe(503);
    expect(res.headers['Retry-After']).toBe('3');
  });
});

describe('outbound options', () => {
  const resolved = resolveOptions({ introspectionEndpoint: 'https://as.example/introspect', clientId: 'api', clientSecret: 's' });

  it('says what to change for each backend', () => {
    const message = configError(
      () =>
        new OutboundTokenService(resolved, {
          a: { tokenEndpoint: 'http://as.example/token', clientId: 'x', clientSecret: 's' },
          b: { tokenEndpoint: 'nope', clientId: 'x' },
          c: { tokenEndpoint: 'https://as.example/token', clientId: '', resource: 'relative/path' },
        }),
    );
    expect(message).toMatch(/outbound\.a`\.tokenEndpoint uses http:\/\//);
    expect(message).toMatch(/outbound\.b`\.tokenEndpoint is not a valid absolute URL/);
    expect(message).toMatch(/outbound\.c`\.clientId is missing/);
    expect(message).toMatch(/outbound\.c`: client_secret_basic needs `clientSecret`/);
    expect(message).toMatch(/resource 'relative\/path' is not an absolute URI/);
  });

  it('an unknown backend name is a clear error', async () => {
    const service = new OutboundTokenService(resolved, {});
    await expect(service.getToken('orders')).rejects.toThrow(/No outbound backend named 'orders'.*configured: none/);
  });
});
