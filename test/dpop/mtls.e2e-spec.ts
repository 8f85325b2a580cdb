import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request as httpsRequest } from 'node:https';
import type { INestApplication } from '@nestjs/common';
import type { IntrospectionModuleOptions } from '../../lib/index.js';
import { ADAPTERS, startApp } from '../support/app.js';
import { basic, CLIENTS, TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { makeCertificate, type TestCertificate } from '../support/certificates.js';

/** A real HTTPS call over a fresh TLS connection, with or without a client certificate. */
function tlsGet(url: string, o: { token: string; client?: TestCertificate; headers?: Record<string, string> }) {
  return new Promise<{ status: number; challenge: string }>((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: 'GET',
        agent: false,
        rejectUnauthorized: false, // the server's certificate is self-signed; the client certificate is what is under test
        ...(o.client ? { key: o.client.key, cert: o.client.cert } : {}),
        headers: { authorization: `Bearer ${o.token}`, ...o.headers },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, challenge: String(res.headers['www-authenticate'] ?? '') }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const escaped = (cert: TestCertificate) => encodeURIComponent(cert.cert); // nginx $ssl_client_escaped_cert

describe.each(ADAPTERS)('certificate-bound tokens (RFC 8705 §3) over real TLS (%s)', (adapter) => {
  let as: TestAuthorizationServer;
  let server: TestCertificate;
  let alice: TestCertificate;
  let mallory: TestCertificate;
  let api: { app: INestApplication; url: string };
  const options = (extra: Partial<IntrospectionModuleOptions> = {}): IntrospectionModuleOptions => ({
    ...introspectionAt(as),
    resilience: { circuitBreaker: false },
    ...extra,
  });

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    server = makeCertificate('127.0.0.1');
    alice = makeCertificate('alice');
    mallory = makeCertificate('mallory');
    api = await startApp(adapter, options(), undefined, [], [], { key: server.key, cert: server.cert, requestCert: true, rejectUnauthorized: false });
    api.url = api.url.replace(/^http:/, 'https:');
  });
  afterAll(async () => {
    await api?.app.close();
    await as?.stop();
  });

  it('accepts the token over a connection with its certificate; refuses it without one or with another (cache hits included)', async () => {
    const token = await as.issueCertificateBoundToken(alice.thumbprint);
    as.resetCounters();
    expect((await tlsGet(`${api.url}/orders`, { token, client: alice })).status).toBe(200);
    const none = await tlsGet(`${api.url}/orders`, { token });
    expect(none.status).toBe(401);
    expect(none.challenge).toMatch(/^Bearer error="invalid_token", error_description="[^"]*client certificate[^"]*"$/);
    const another = await tlsGet(`${api.url}/orders`, { token, client: mallory });
    expect(another.status).toBe(401);
    expect(another.challenge).toContain('error="invalid_token"');
    expect(as.introspectionRequests).toBe(1); // from the cache, which kept cnf
    expect((await tlsGet(`${api.url}/orders`, { token, client: alice })).status).toBe(200);
    // An ordinary bearer token is unaffected, with or without a client certificate.
    const plain = await as.issueToken({ scope: 'read' });
    expect((await tlsGet(`${api.url}/orders`, { token: plain })).status).toBe(200);
    expect((await tlsGet(`${api.url}/orders`, { token: plain, client: mallory })).status).toBe(200);
  });

  it('oidc-provider (features.mTLS.certificateBoundAccessTokens) binds a token to the client certificate; it works only over a connection with that certificate', async () => {
    const token = await as.issueTokenWithCertificate(alice.cert);
    const introspected = await fetch(as.introspectionEndpoint, {
      method: 'POST',
      headers: { authorization: basic(CLIENTS.basic.clientId, CLIENTS.basic.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
    }).then((r) => r.json() as Promise<{ cnf?: Record<string, string> }>);
    expect(introspected.cnf?.['x5t#S256']).toBe(alice.thumbprint);
    expect((await tlsGet(`${api.url}/orders`, { token, client: alice })).status).toBe(200);
    expect((await tlsGet(`${api.url}/orders`, { token, client: mallory })).status).toBe(401);
    expect((await tlsGet(`${api.url}/orders`, { token })).status).toBe(401);
  });

  it('a forged proxy header is ignored when proxy mode is off', async () => {
    const token = await as.issueCertificateBoundToken(alice.thumbprint);
    for (const name of ['x-ssl-client-cert', 'x-client-cert', 'ssl-client-cert', 'x-forwarded-client-cert']) {
      const res = await tlsGet(`${api.url}/orders`, { token, client: mallory, headers: { [name]: escaped(alice) } });
      expect(res.status).toBe(401);
    }
    // The socket's certificate is what counts: a header naming another certificate changes nothing.
    expect((await tlsGet(`${api.url}/orders`, { token, client: alice, headers: { 'x-ssl-client-cert': escaped(mallory) } })).status).toBe(200);
  });

  it('proxy mode (mtls.certificateHeader): the certificate comes from the header a TLS-terminating proxy sets', async () => {
    const proxied = await startApp(adapter, options({ mtls: { certificateHeader: 'X-SSL-Client-Cert' } }));
    try {
      const token = await as.issueCertificateBoundToken(alice.thumbprint);
      const get = (value?: string) =>
        fetch(`${proxied.url}/orders`, { headers: { authorization: `Bearer ${token}`, ...(value === undefined ? {} : { 'x-ssl-client-cert': value }) } });
      expect((await get(escaped(alice))).status).toBe(200);
      expect((await get(alice.cert.replace(/\n/g, ' '))).status).toBe(200); // PEM with newlines as spaces
      expect((await get(new X509Der(alice).base64)).status).toBe(200); // base64 DER
      expect((await get(escaped(mallory))).status).toBe(401);
      expect((await get()).status).toBe(401);
      expect((await get('junk%%%')).status).toBe(401);
    } finally {
      await proxied.app.close();
    }
  });
});

class X509Der {
  readonly base64: string;
  constructor(cert: TestCertificate) {
    this.base64 = cert.cert.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  }
}
