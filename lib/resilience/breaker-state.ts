/** Circuit-breaker state as reported to users and health checks. */
export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated' | 'disabled';
