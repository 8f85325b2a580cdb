/** Circuit-breaker state as reported to users and health checks. */
export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated' | 'disabled';

/** Breaker states from the worst: what a multi-tenant module reports when its tenants' breakers differ. */
const SEVERITY: readonly BreakerState[] = ['open', 'isolated', 'half-open', 'closed', 'disabled'];

/** The worst of several breakers' states (`closed` for none). */
export function worstBreakerState(states: readonly BreakerState[]): BreakerState {
  return SEVERITY.find((state) => states.includes(state)) ?? 'closed';
}
