import { hash } from 'node:crypto';
import type { LocalRecord, LocalTier } from './local-tier.js';

/**
 * The keys of tokens found active here, by raw token: a hit costs a map lookup instead of a SHA-256.
 * Only a memo of `key()` (records stay keyed by the digest, so evictions, expiry and newer answers work
 * exactly as without it). In process memory only, never in a shared store or a log: the token is in the
 * request anyway. Filled on active hits only (junk never gets in), bounded by `maxEntries` (oldest out).
 * A `Map` of token → key itself, so the hot path reads it with one `get`.
 */
export class TokenKeyMemo extends Map<string, string> {
  constructor(
    /** `namespace\0`: what keys are derived from. */
    private readonly keyBase: string,
    private readonly maxEntries: number,
  ) {
    super();
  }

  /** The cache key of a token: base64url(SHA-256(namespace, token)). */
  key(token: string): string {
    return this.get(token) ?? hash('sha256', this.keyBase + token, 'base64url');
  }

  /**
   * The in-process record of a token, read synchronously: the hot path of a cache hit. The token's key
   * is remembered once it was found active, so later hits skip the hash.
   */
  read(local: LocalTier, token: string, now: number): LocalRecord | undefined {
    const known = this.get(token);
    if (known !== undefined) {
      const record = local.get(known, now);
      // Evicted, expired or answered inactive since: forget the memo with the record.
      if (!record?.result.active) this.delete(token);
      return record;
    }
    const key = hash('sha256', this.keyBase + token, 'base64url');
    const record = local.get(key, now);
    if (record?.result.active) {
      if (this.size >= this.maxEntries) this.delete(this.keys().next().value!);
      this.set(token, key);
    }
    return record;
  }

  /**
   * Drops the memo entries of these keys (evictions by subject or client: the tokens are not known, so a scan
   * of the memo, bounded by `maxEntries`; such evictions are rare). Evictions by key alone (another replica's
   * `evict(token)`, the AS's inactive answer) leave the memo entry until the token is presented again — it is
   * then dropped with the record it no longer finds.
   */
  forgetKeys(keys: readonly string[]): void {
    if (keys.length === 0 || this.size === 0) return;
    const dropped = new Set(keys);
    for (const [token, key] of this) if (dropped.has(key)) this.delete(token);
  }
}
