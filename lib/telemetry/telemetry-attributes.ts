import type { Attributes } from '@opentelemetry/api';
import type { RevalidationKind, RevalidationOutcome, RevalidationSkipReason } from '../cache/background-revalidator.js';

/** Attribute objects are built once: recording a metric allocates nothing. `base` (the tenant, with `tenants`) is in each. */
export function attributeCache<K extends string>(key: string, base?: Attributes) {
  const cache = new Map<K, Attributes>();
  return (value: K): Attributes => {
    let attributes = cache.get(value);
    if (!attributes) cache.set(value, (attributes = Object.freeze({ ...base, [key]: value })));
    return attributes;
  };
}

/** Attribute objects of outbound metrics, by backend (configured names only: bounded). */
export function outboundAttributeCache() {
  const outboundAttrs = new Map<string, Attributes>();
  return (backend: string, outcome: string, reason?: string): Attributes => {
    const key = `${outcome}\u0000${reason ?? ''}\u0000${backend}`;
    let attributes = outboundAttrs.get(key);
    if (!attributes) {
      const values: Record<string, string> = { backend, [outcome === 'success' || outcome === 'error' ? 'outcome' : 'renewal']: outcome };
      if (reason) values['error.type'] = reason;
      outboundAttrs.set(key, (attributes = Object.freeze(values)));
    }
    return attributes;
  };
}

const SKIP_REASONS: readonly RevalidationSkipReason[] = ['breaker', 'concurrency', 'rate', 'superseded', 'shutdown'];
const OUTCOMES: readonly RevalidationOutcome[] = ['active', 'revoked', 'rejected', 'error'];

type RevalidationAttributes = Record<RevalidationOutcome | 'started' | 'kind', Attributes> & {
  skipped: Record<RevalidationSkipReason, Attributes>;
};

/** Attribute objects of the revalidation metrics, by kind and outcome (and skip reason), built once. */
export function revalidationAttributeTable(base?: Attributes): Record<RevalidationKind, RevalidationAttributes> {
  const forKind = (kind: RevalidationKind): RevalidationAttributes => {
    const of = <K extends string>(keys: readonly K[], make: (key: K) => Attributes) =>
      Object.fromEntries(keys.map((key) => [key, Object.freeze({ ...base, ...make(key) })])) as Record<K, Attributes>;
    return {
      ...of(OUTCOMES, (outcome) => ({ kind, outcome })),
      kind: Object.freeze({ ...base, kind }),
      started: Object.freeze({ ...base, kind, outcome: 'started' }),
      skipped: of(SKIP_REASONS, (reason) => ({ kind, outcome: 'skipped', reason })),
    };
  };
  return { refresh: forKind('refresh'), recheck: forKind('recheck') };
}
