import { randomUUID } from 'node:crypto';
import { importJWK, importPKCS8, SignJWT } from 'jose';
/**
 * Authenticates this API to the introspection endpoint (RFC 7662 §2.1 requires it).
 * Built once; the secret-based parts are precomputed, `private_key_jwt` signs a fresh assertion per call.
 */
export class ClientAuthentication {
    constructor(options) {
        this.options = options;
        if (options.clientAuthMethod === 'client_secret_basic') {
            // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64.
            const id = formEncode(options.clientId);
            const secret = formEncode(options.clientSecret ?? '');
            this.basic = { headers: { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` } };
        }
    }
    /** @param audience the authorization server's identifier (issuer), or the endpoint URL when unknown. */
    async credentials(audience) {
        switch (this.options.clientAuthMethod) {
            case 'client_secret_basic':
                return this.basic;
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
                throw new Error(`client authentication '${this.options.clientAuthMethod}' is not supported`);
        }
    }
    /** RFC 7523 §3: iss = sub = client id, aud = the AS, short-lived, unique jti. */
    async signAssertion(audience) {
        const { clientId, privateKeyAlgorithm: alg, privateKeyId: kid } = this.options;
        this.key ??= importKey(this.options.privateKey, alg);
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
function importKey(key, alg) {
    if (typeof key === 'string')
        return importPKCS8(key, alg);
    if (typeof key === 'object' && 'kty' in key)
        return importJWK(key, alg);
    return Promise.resolve(key);
}
function formEncode(value) {
    return encodeURIComponent(value).replace(/%20/g, '+');
}
