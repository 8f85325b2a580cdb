import { hash } from 'node:crypto';
/**
 * A short, stable identifier of a token for logs and events: the first 12 hex digits of its SHA-256.
 * Enough to correlate log lines, useless for replaying the token. Never log the token itself.
 */
export function tokenFingerprint(token) {
    return hash('sha256', token, 'hex').slice(0, 12);
}
