import { hash, X509Certificate } from 'node:crypto';
import { LRUCache } from 'lru-cache';
/** Thumbprints per TLS socket: a keep-alive connection presents one certificate for its whole life. */
const bySocket = new WeakMap();
/** Thumbprints of header values already parsed (a proxy sends the same certificate on every request of a client). */
const byHeader = new LRUCache({ max: 1000 });
/**
 * RFC 8705 §3.1: base64url(SHA-256(DER of the client certificate)) of the TLS connection, when the client
 * presented one (HTTPS server with `requestCert`). The handshake proved the client holds its private key;
 * the binding is to the certificate itself, so a self-signed one is fine (§2.2).
 */
export function socketCertificateThumbprint(socket) {
    const tls = socket;
    if (!tls || typeof tls.getPeerCertificate !== 'function')
        return undefined;
    let thumbprint = bySocket.get(tls);
    if (thumbprint === undefined) {
        const raw = tls.getPeerCertificate(false)?.raw;
        thumbprint = raw && raw.length > 0 ? hash('sha256', raw, 'base64url') : null;
        bySocket.set(tls, thumbprint);
    }
    return thumbprint ?? undefined;
}
/**
 * The thumbprint of a certificate a TLS-terminating proxy put in a header: PEM, URL-encoded PEM (nginx
 * `$ssl_client_escaped_cert`), PEM with its newlines turned into spaces, or base64 DER. Undefined when the
 * value is not one certificate.
 */
export function headerCertificateThumbprint(value) {
    if (typeof value !== 'string' || value.length === 0 || value.length > 16_384)
        return undefined;
    const known = byHeader.get(value);
    if (known !== undefined)
        return known || undefined;
    let thumbprint = false;
    try {
        let text = value.includes('%') ? decodeURIComponent(value) : value;
        // Exactly one certificate: a proxy that appends to a client-sent header would otherwise let the
        // client's copy (a public certificate of someone else) decide the binding.
        if ((text.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length > 1 || /,/.test(text))
            throw new Error('more than one value');
        const pem = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(text);
        if (pem)
            text = pem[1];
        const b64 = text.replace(/\s+/g, '');
        if (/^[A-Za-z0-9+/]+=*$/.test(b64)) {
            const der = Buffer.from(b64, 'base64');
            new X509Certificate(der); // throws unless it is a certificate
            thumbprint = hash('sha256', der, 'base64url');
        }
    }
    catch {
        thumbprint = false;
    }
    byHeader.set(value, thumbprint);
    return thumbprint || undefined;
}
