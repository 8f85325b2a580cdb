import { describe, expect, it } from '@jest/globals';
import { IntrospectionConfigurationError } from '../errors/introspection.errors.js';
import type { IntrospectionModuleOptions } from '../interfaces/introspection-module-options.interface.js';
import { resolveOptions } from './resolve-options.js';

const base: IntrospectionModuleOptions = {
  introspectionEndpoint: 'https://as.example.com/introspect',
  clientId: 'api',
  clientSecret: 's3cret',
};

function problems(options: unknown): string {
  try {
    resolveOptions(options as IntrospectionModuleOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(IntrospectionConfigurationError);
    return (error as Error).message;
  }
  throw new Error('expected a configuration error');
}

describe('resolveOptions', () => {
  it('fills in documented defaults', () => {
    const o = resolveOptions(base);
    expect(o.clientAuthMethod).toBe('client_secret_basic');
    expect(o.outagePolicy).toBe('fail-closed');
    expect(o.globalGuard).toBe(true);
    expect(o.clockSkewSeconds).toBe(5);
    expect(o.cache).toMatchObject({ ttlMs: 60_000, negativeTtlMs: 10_000, staleIfErrorMs: 300_000, maxEntries: 10_000 });
    expect(o.resilience).toMatchObject({
      attemptTimeoutMs: 2000,
      deadlineMs: 5000,
      retries: 2,
      circuitBreaker: { consecutiveFailures: 5, halfOpenAfterMs: 5000 },
      maxConcurrentCalls: 32,
    });
  });

  it('needs an endpoint or an issuer, and says how to give one', () => {
    expect(problems({ clientId: 'api', clientSecret: 'x' })).toMatch(/Neither `introspectionEndpoint` nor `issuer`.*Set `introspectionEndpoint`/);
  });

  it('refuses http:// unless allowInsecureRequests is set', () => {
    expect(problems({ ...base, introspectionEndpoint: 'http://as.local/introspect' })).toMatch(/uses http:\/\/.*set `allowInsecureRequests: true`/);
    expect(problems({ ...base, introspectionEndpoint: undefined, issuer: 'http://as.local' })).toMatch(/`issuer` uses http/);
    expect(resolveOptions({ ...base, introspectionEndpoint: 'http://as.local/i', allowInsecureRequests: true }).introspectionEndpoint?.href).toBe(
      'http://as.local/i',
    );
  });

  it('requires the secret or key the chosen client authentication needs', () => {
    expect(problems({ ...base, clientSecret: undefined })).toMatch(/needs `clientSecret`/);
    expect(problems({ ...base, clientSecret: undefined, clientAuthMethod: 'client_secret_post' })).toMatch(/'client_secret_post'.*needs `clientSecret`/);
    expect(problems({ ...base, clientAuthMethod: 'private_key_jwt' })).toMatch(/needs `privateKey`/);
    expect(problems({ ...base, clientAuthMethod: 'magic' })).toMatch(/'magic' is unknown: use one of/);
    expect(problems({ ...base, clientId: '' })).toMatch(/`clientId` is missing/);
  });

  it('rejects nonsensical durations with their unit and range', () => {
    expect(problems({ ...base, cache: { ttlSeconds: -1 } })).toMatch(/`cache.ttlSeconds` is -1: it must be a number of seconds between 0 and 86400/);
    expect(problems({ ...base, resilience: { attemptTimeoutMs: 3000, deadlineMs: 1000 } })).toMatch(/deadlineMs.*shorter than.*attemptTimeoutMs/);
    expect(problems({ ...base, resilience: { retries: 1.5 } })).toMatch(/whole number of retries/);
    expect(problems({ ...base, clockSkewSeconds: Number.NaN })).toMatch(/clockSkewSeconds/);
  });

  it('reports every problem at once', () => {
    const message = problems({ clientId: '', cache: { negativeTtlSeconds: 99999 } });
    expect(message.split('\n  - ').length - 1).toBeGreaterThanOrEqual(3);
  });

  it("requires staleIfErrorSeconds > 0 for outagePolicy 'serve-stale'", () => {
    expect(problems({ ...base, outagePolicy: 'serve-stale', cache: { staleIfErrorSeconds: 0 } })).toMatch(/serve-stale.*staleIfErrorSeconds/);
    expect(problems({ ...base, outagePolicy: 'serve-stale', cache: false })).toMatch(/serve-stale/);
  });

  it('normalizes audience to a list and derives the private_key_jwt algorithm from the JWK', () => {
    const o = resolveOptions({
      ...base,
      audience: 'https://api.example.com',
      clientAuthMethod: 'private_key_jwt',
      privateKey: { kty: 'EC', alg: 'ES256', kid: 'k1', crv: 'P-256', x: 'x', y: 'y', d: 'd' },
    });
    expect(o.audience).toEqual(['https://api.example.com']);
    expect(o.privateKeyAlgorithm).toBe('ES256');
    expect(o.privateKeyId).toBe('k1');
  });
});

describe('resolveOptions: dpop and mtls', () => {
  it('DPoP is accepted by default, not required, no nonces; mTLS reads the socket only', () => {
    const o = resolveOptions(base);
    expect(o.dpop).toMatchObject({
      required: false,
      maxAgeSeconds: 60,
      clockSkewSeconds: 5,
      replayCacheSize: 100_000,
      nonce: false,
      trustForwardedHeaders: false,
    });
    expect(o.dpop && o.dpop.algorithms).not.toContain('HS256');
    expect(o.mtls).toEqual({ certificateHeader: undefined });
    expect(resolveOptions({ ...base, dpop: false }).dpop).toBe(false);
  });

  it.each([
    [{ dpop: { algorithms: ['HS256'] } }, /dpop\.algorithms.*asymmetric/],
    [{ dpop: { algorithms: ['none'] } }, /dpop\.algorithms/],
    [{ dpop: { externalOrigin: 'https://api.example.com/v1' } }, /dpop\.externalOrigin.*no path/],
    [{ dpop: { nonce: { secret: 'short' } } }, /dpop\.nonce\.secret.*32/],
    [{ dpop: { maxAgeSeconds: 0 } }, /dpop\.maxAgeSeconds/],
    [{ dpop: 'yes' }, /`dpop` must be an object/],
    [{ mtls: { certificateHeader: 'bad header' } }, /mtls\.certificateHeader/],
  ])('refuses %p at start-up, saying what to change', (extra, message) => {
    expect(problems({ ...base, ...extra })).toMatch(message);
  });
});
