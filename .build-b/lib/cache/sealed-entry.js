import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
const INFO = Buffer.from('nestjs-token-introspection/shared-entry/v1');
/**
 * Seals an entry with a key derived from the token (HKDF-SHA-256, salted with the cache namespace).
 * The store key is a separate SHA-256 of the token, so whoever reads the store (a Redis dump, a
 * replica of it, an operator) learns nothing — no subject, username, e-mail or client id — without
 * the token, and a holder of the token learns only what introspection would tell them.
 * The store key is bound as additional data: an entry moved to another key does not open.
 */
export function sealEntry(entry, token, salt, storeKey) {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', entryKey(token, salt), iv);
    cipher.setAAD(Buffer.from(storeKey));
    const body = Buffer.concat([cipher.update(JSON.stringify(entry), 'utf8'), cipher.final()]);
    return { v: 1, s: Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url') };
}
/** Opens a sealed entry; undefined when it is not one, or does not open with this token (tampered, foreign). */
export function openEntry(sealed, token, salt, storeKey) {
    const s = sealed?.s;
    if (sealed?.v !== 1 || typeof s !== 'string')
        return undefined;
    try {
        const raw = Buffer.from(s, 'base64url');
        if (raw.length < 12 + 16 + 2)
            return undefined;
        const decipher = createDecipheriv('aes-256-gcm', entryKey(token, salt), raw.subarray(0, 12));
        decipher.setAAD(Buffer.from(storeKey));
        decipher.setAuthTag(raw.subarray(raw.length - 16));
        const plain = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
        const entry = JSON.parse(plain);
        if (entry?.response?.active !== true ||
            typeof entry.freshUntil !== 'number' ||
            typeof entry.staleUntil !== 'number' ||
            typeof entry.startedAt !== 'number') {
            return undefined;
        }
        return entry;
    }
    catch {
        return undefined;
    }
}
function entryKey(token, salt) {
    return Buffer.from(hkdfSync('sha256', token, salt, INFO, 32));
}
