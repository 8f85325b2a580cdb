import { randomUUID } from 'node:crypto';
import type { CryptoKey as JoseKey } from 'jose';
import { loadJose } from '../utils/jose.js';
import type { KeyObject } from 'node:crypto';
import type { ResolvedOptions } from '../options/resolved-options.js';

/** What client authentication adds to one introspection request. */
export interface ClientCredentialsPart {
  headers?: Record<string, string>;
  body?: Record<string, string>;
}

/**
 * Authenticates this API to the introspection endpoint (RFC 7662 §2.1 requires it).
 * Built once; the secret-based parts are precomputed, `private_key_jwt` signs a fresh assertion per call.
 */
export class ClientAuthentication {
  private readonly basic?: ClientCredentialsPart;
  private key?: Promise<JoseKey | KeyObject | Uint8Array>;

  private readonly method: ResolvedOptions['clientAuthMethod'];

  /** @param method defaults to `clientAuthMethod`; the token endpoint of `client_credentials_bearer` uses basic or private_key_jwt. */
  constructor(
    private readonly options: ResolvedOptions,
    method: ResolvedOptions['clientAuthMethod'] = options.clientAuthMethod,
  ) {
    this.method = method;
    if (method === 'client_secret_basic') {
      // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64 (some servers expect them raw).
      const encode = options.clientSecretBasicEncoding === 'raw' ? (v: string) => v : formEncode;
      const id = encode(options.clientId);
      const secret = encode(options.clientSecret ?? '');
      this.basic = { headers: { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` } };
    }
  }

  /** @param audience the authorization server's identifier (issuer), or the endpoint URL when unknown. */
  async credentials(audience: string): Promise<ClientCredentialsPart> {
    switch (this.method) {
      case 'client_secret_basic':
        return this.basic!;
      case 'client_secret_post':
        return { body: { client_id: this.options.clientId, client_secret: this.options.clientSecret ?? '' } };
      case 'private_key_jwt':
        return {
          body: {
            client_id: this.options.clientId,
            client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
            client_assertion: await this.signAssertion(audience),
          },
        };
      default:
        throw new Error(`client authentication '${this.method}' is not supported here`);
    }
  }

  /** RFC 7523 §3: iss = sub = client id, aud = the AS, short-lived, unique jti. */
  private async signAssertion(audience: string): Promise<string> {
    const { clientId, privateKeyAlgorithm: alg, privateKeyId: kid } = this.options;
    this.key ??= importKey(this.options.privateKey!, alg);
    const { SignJWT } = await loadJose();
    return new SignJWT({})
      .setProtectedHeader(kid ? { alg, kid } : { alg })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(audience)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(await this.key);
  }
}

/**
 * jose 6 is ESM-only: loaded on first use, so apps that never sign an assertion never load it
 * (a CommonJS app's Jest runtime cannot require ESM files).
 */

async function importKey(key: NonNullable<ResolvedOptions['privateKey']>, alg: string): Promise<JoseKey | KeyObject | Uint8Array> {
  if (typeof key === 'string') return (await loadJose()).importPKCS8(key, alg);
  if (typeof key === 'object' && 'kty' in key) return (await loadJose()).importJWK(key, alg);
  return key as KeyObject | JoseKey;
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}
