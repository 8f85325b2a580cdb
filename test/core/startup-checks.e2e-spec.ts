import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { IntrospectionConfigurationError, type IntrospectionModuleOptions } from '../../lib/index.js';
import { ADAPTERS, call, startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../support/authorization-server.js';
import { capturedLogs, createEngine, sleep } from '../support/engine.js';

describe('a bad privateKey fails start-up with what is wrong (private_key_jwt)', () => {
  let as: TestAuthorizationServer;
  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
  });
  afterAll(async () => {
    await as.stop();
  });
  const options = (privateKey: unknown, extra: Partial<IntrospectionModuleOptions> = {}) =>
    ({
      introspectionEndpoint: as.introspectionEndpoint,
      allowInsecureRequests: true,
      clientId: CLIENTS.jwt.clientId,
      clientAuthMethod: 'private_key_jwt',
      privateKey,
      ...extra,
    }) as IntrospectionModuleOptions;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

  const cases: Array<[string, () => unknown, RegExp, Partial<IntrospectionModuleOptions>]> = [
    ['a string that is no PEM', () => 'not-a-key', /not a PKCS#8 PEM/, {}],
    ['a PKCS#1 RSA PEM', () => rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }), /PKCS#1.*openssl pkcs8 -topk8/, {}],
    ['a public PEM', () => rsa.publicKey.export({ type: 'spki', format: 'pem' }), /public key/, {}],
    ['a public JWK', () => as.jwtClientKey.publicJwk, /public JWK \(no "d"\)/, {}],
    [
      'an EC JWK with privateKeyAlgorithm RS256',
      () => ({ ...as.jwtClientKey.privateJwk, alg: undefined }),
      /could not be imported for `privateKeyAlgorithm` 'RS256'/,
      {},
    ],
    ['a public KeyObject', () => createPublicKey(rsa.privateKey), /public KeyObject/, {}],
    ['an RSA KeyObject with ES256', () => rsa.privateKey, /cannot sign with `privateKeyAlgorithm` 'ES256'/, { privateKeyAlgorithm: 'ES256' }],
  ];
  it.each(cases)('%s', async (_name, key, message, extra) => {
    const failure = await createEngine(options(key(), extra)).then(
      async (e) => {
        await e.close();
        return undefined;
      },
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(IntrospectionConfigurationError);
    expect((failure as Error).message).toMatch(message);
  });

  it('a good private JWK starts and introspects', async () => {
    const { service, close } = await createEngine(options(as.jwtClientKey.privateJwk));
    try {
      const token = await as.issueToken({ scope: 'read' });
      expect((await service.introspect(token)).active).toBe(true);
    } finally {
      await close();
    }
  });
});

describe.each(ADAPTERS)('verifyOnStartup over %s: a clear verdict in the logs, start-up never blocked', (adapter) => {
  let as: TestAuthorizationServer;
  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
  });
  afterAll(async () => {
    await as.stop();
  });

  async function verdict(options: Partial<IntrospectionModuleOptions>): Promise<string> {
    capturedLogs.length = 0;
    const { app, url } = await startApp(adapter, { allowInsecureRequests: true, ...CLIENTS.basic, verifyOnStartup: true, ...options });
    try {
      expect((await call(`${url}/public`)).status).toBe(200); // the app is up whatever the verdict
      for (let i = 0; i < 50 && !capturedLogs.some((l) => l.includes('Start-up check')); i++) await sleep(20);
      return capturedLogs.find((l) => l.includes('Start-up check')) ?? 'no verdict logged';
    } finally {
      await app.close();
    }
  }

  it('right configuration: passed', async () => {
    expect(await verdict({ introspectionEndpoint: as.introspectionEndpoint })).toMatch(/Start-up check passed: .*accepted our client credentials/);
  });

  it('wrong secret: MISCONFIGURED, client_authentication_failed, says what to check', async () => {
    const line = await verdict({ introspectionEndpoint: as.introspectionEndpoint, clientSecret: 'wrong-secret' });
    expect(line).toMatch(/Start-up check: MISCONFIGURED \(client_authentication_failed\).*Check `clientId`/);
    expect(line).not.toContain('wrong-secret');
  });

  it('wrong endpoint: MISCONFIGURED, unexpected_status, points at introspectionEndpoint', async () => {
    expect(await verdict({ introspectionEndpoint: `${as.issuer}/not-the-endpoint` })).toMatch(
      /MISCONFIGURED \(unexpected_status\).*Check that `introspectionEndpoint`/,
    );
  });

  it('unreachable discovery: no verdict on the configuration (could not be reached, discovery_failed), names issuer, start-up goes on', async () => {
    expect(await verdict({ issuer: 'http://127.0.0.1:9' })).toMatch(
      /could not be reached \(discovery_failed\).*`issuer`.*No verdict on the configuration; start-up goes on/,
    );
  });
});
