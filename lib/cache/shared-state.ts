export { SHARED_STATE } from '../introspection.constants.js';

/**
 * State the replicas of a service share, for features at the core's edge (the `SHARED_STATE` port): one-time
 * identifiers (DPoP proof `jti`s, the `jti`s of pushed security events and logout tokens) and revocation marks
 * (locally validated JWTs). Backed by the cache's stores (`CacheSharedState`): one-time identifiers need
 * `cache.redis`; marks need any shared store (`cache.redis` or `cache.store`). Without one, every operation
 * answers as if nothing were recorded and records nothing: callers keep their own in-process memory and
 * use this port to make their checks hold across replicas.
 */
export interface SharedState {
  /** Whether marks reach a shared store (`writeMark` / `readMarks` see other replicas' marks); false: they do nothing. */
  readonly sharesMarks: boolean;

  /**
   * Records a one-time identifier for `ttlMs` (atomically: SET NX): resolves true the first time, false for a
   * replay, undefined when there is no shared store to ask. `kind` names the feature's namespace (default
   * `'dpop'`), `value` what the record holds (default `'1'`). Rejects when the store cannot answer.
   */
  claimOnce(id: string, ttlMs: number, kind?: string, value?: string): Promise<boolean | undefined>;

  /** The value a one-time identifier was recorded with (`claimOnce` / `record`); null when none or no shared store. Rejects when the store cannot answer. */
  recorded(id: string, kind?: string): Promise<string | null>;

  /** (Re)writes a one-time identifier's record with `value` for `ttlMs`, whether or not it exists. Rejects when the store cannot answer. */
  record(id: string, value: string, ttlMs: number, kind?: string): Promise<void>;

  /** Forgets a one-time identifier `claimOnce` recorded (what it guarded failed and may be retried). Rejects when the store cannot answer. */
  release(id: string, kind?: string): Promise<void>;

  /**
   * Writes a revocation mark (a name the feature chose, hashed where it holds personal data, and a number)
   * for `ttlMs`; nothing for `ttlMs <= 0` or without a shared store. Rejects when the store cannot write
   * (the revocation did not happen: retry).
   */
  writeMark(mark: string, value: number, ttlMs: number): Promise<void>;

  /** The values of marks, in order: undefined where none, or for all when the store fails (it degrades, never blocks) or there is none. */
  readMarks(marks: readonly string[]): Promise<Array<number | undefined>>;
}
