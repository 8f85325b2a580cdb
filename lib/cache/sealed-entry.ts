import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** What a shared store holds for an active token, before sealing. */
export interface SharedEntry {
  /** The authorization server's wire-valid RFC 7662 response; each replica validates it under its own policy. */
  readonly response: Record<string, unknown> & { active: true };
  readonly freshUntil: number;
  readonly staleUntil: number;
  /** When the lookup that learned it started (epoch ms, writer's clock): an eviction after that time voids it. */
  readonly startedAt: number;
  /** Which process wrote it (its own tombstones need no clock margin). */
  readonly origin: string;
}

/** What a shared store actually holds: AES-256-GCM ciphertext, useless without the token itself. */
export interface SealedEntry {
  readonly v: 1;
  /** base64url(iv ‖ ciphertext ‖ tag). */
  readonly s: string;
}

const INFO = Buffer.from('nestjs-token-introspection/shared-entry/v1');

/**
 * Seals an entry with a key derived from the token (HKDF-SHA-256, salted with the cache namespace).
 * The store key is a separate SHA-256 of the token, so whoever reads the store (a Redis dump, a
 * replica of it, an operator) learns nothing — no subject, username, e-mail or client id — without
 * the token, and a holder of the token learns only what introspection would tell them.
 * The store key is bound as additional data: an entry moved to another key does not open.
 */
export function sealEntry(entry: SharedEntry, token: string, salt: string, storeKey: string): SealedEntry {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', entryKey(token, salt), iv);
  cipher.setAAD(Buffer.from(storeKey));
  const body = Buffer.concat([cipher.update(JSON.stringify(entry), 'utf8'), cipher.final()]);
  return { v: 1, s: Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url') };
}

/** Opens a sealed entry; undefined when it is not one, or does not open with this token (tampered, foreign). */
export function openEntry(sealed: unknown, token: string, salt: string, storeKey: string): SharedEntry | undefined {
  const s = (sealed as Partial<SealedEntry> | null)?.s;
  if ((sealed as Partial<SealedEntry> | null)?.v !== 1 || typeof s !== 'string') return undefined;
  try {
    const raw = Buffer.from(s, 'base64url');
    if (raw.length < 12 + 16 + 2) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', entryKey(token, salt), raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(storeKey));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    const plain = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
    const entry = JSON.parse(plain) as SharedEntry;
    if (
      entry?.response?.active !== true ||
      typeof entry.freshUntil !== 'number' ||
      typeof entry.staleUntil !== 'number' ||
      typeof entry.startedAt !== 'number'
    ) {
      return undefined;
    }
    return entry;
  } catch {
    return undefined;
  }
}

function entryKey(token: string, salt: string): Buffer {
  return Buffer.from(hkdfSync('sha256', token, salt, INFO, 32));
}
