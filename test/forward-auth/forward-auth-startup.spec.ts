import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { IntrospectionModule } from '../../lib/index.js';
import { ForwardAuthModule, type ForwardAuthOptions } from '../../lib/forward-auth/index.js';
import { createTestApp } from '../support/app.js';
import { TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';

/** Options that cannot work fail at start-up with a message saying what to change. */
describe('ForwardAuthModule options checked at start-up', () => {
  it.each<[string, ForwardAuthOptions, RegExp]>([
    ['a trusted proxy that is not an address', { trustedProxies: ['gateway.internal'] }, /trustedProxies: 'gateway.internal' is not an IP address/],
    ['an empty trusted proxy list', { trustedProxies: [] }, /trustedProxies: list one or more/],
    ['a path with a wildcard', { path: '/auth/*' }, /path: '\/auth\/\*' must be a path/],
    ['an unknown original-request source', { originalRequest: 'forwarded' as never }, /originalRequest: one of 'x-forwarded', 'x-original', 'path'/],
    ['a prefix with a dot segment', { locations: [{ prefix: '/a/../b' }] }, /locations\[0\]\.prefix: The forwarded path holds a dot segment/],
    ['prefixes that differ only in case', { locations: [{ prefix: '/Admin' }, { prefix: '/admin' }] }, /declared twice/],
    ['a public location with scopes', { locations: [{ prefix: '/p', public: true, scopes: ['read'] }] }, /`public: true` cannot be combined/],
    ['an empty scope list', { locations: [{ prefix: '/p', scopes: [] }] }, /locations\[0\]: @Scopes\(\) needs one or more scope names/],
    ['an identity header that frames the response', { upstreamHeaders: { 'Content-Length': 'sub' } }, /upstreamHeaders: 'Content-Length' frames the response/],
    [
      'a phantom header that is also an identity header',
      { upstreamToken: { header: 'X-Auth-Subject' } },
      /upstreamToken.header: 'X-Auth-Subject' is also an identity header/,
    ],
    ['a tiny maxHeaderBytes', { maxHeaderBytes: 2 }, /maxHeaderBytes: a whole number of bytes from 16/],
    ['an externalOrigin that is no http(s) origin', { externalOrigin: 'ftp://x' }, /externalOrigin: an http\(s\) origin/],
  ])('%s', (_what, options, message) => {
    expect(() => ForwardAuthModule.forRoot(options)).toThrow(message);
  });

  it('every problem is reported at once', () => {
    expect(() => ForwardAuthModule.forRoot({ path: 'x y', trustedProxies: ['nope'] })).toThrow(/path: .*\n.*trustedProxies/s);
  });

  describe('with the application', () => {
    let as: TestAuthorizationServer;
    beforeAll(async () => {
      as = await TestAuthorizationServer.start();
    });
    afterAll(async () => {
      await as?.stop();
    });
    const boot = async (phantom: boolean, forwardAuth: ForwardAuthOptions) => {
      const app = await createTestApp('express', [
        IntrospectionModule.forRoot({
          ...introspectionAt(as),
          verifyOnStartup: false,
          ...(phantom ? { phantom: { issuer: 'https://edge.example', audiences: ['https://orders.internal'] } } : {}),
        }),
        ForwardAuthModule.forRoot(forwardAuth),
      ]);
      try {
        await app.init();
      } finally {
        await app.close().catch(() => undefined);
      }
    };

    it('upstreamToken without the phantom option: start-up error naming it', async () => {
      await expect(boot(false, { upstreamToken: {} })).rejects.toThrow(/`upstreamToken` needs phantom tokens: set the `phantom` option/);
    });

    it('a phantom audience that is not one of phantom.audiences: start-up error', async () => {
      await expect(boot(true, { upstreamToken: { audience: 'https://nope.internal' } })).rejects.toThrow(
        /'https:\/\/nope.internal' is not one of `phantom.audiences`/,
      );
      await expect(boot(true, { upstreamToken: {}, locations: [{ prefix: '/x', audience: 'https://other' }] })).rejects.toThrow(/'https:\/\/other'/);
    });

    it('valid options boot', async () => {
      await expect(boot(true, { upstreamToken: {}, locations: [{ prefix: '/admin', scopes: ['admin'], roles: ['ops'] }] })).resolves.toBeUndefined();
    });
  });
});
