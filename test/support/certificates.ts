import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hash, X509Certificate } from 'node:crypto';

/** A self-signed certificate and its key, made at test time with openssl (P-256, valid one day). */
export interface TestCertificate {
  readonly key: string;
  readonly cert: string;
  /** RFC 8705 §3.1 thumbprint: base64url(SHA-256(DER)). */
  readonly thumbprint: string;
}

export function makeCertificate(commonName: string): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-subj',
        `/CN=${commonName}`,
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert, thumbprint: hash('sha256', new X509Certificate(cert).raw, 'base64url') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
