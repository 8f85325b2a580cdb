import { describe, expect, it } from '@jest/globals';
import { AuthorizationServerUnavailableError, type UnavailableReason } from '../errors/introspection.errors.js';
import { failOpenOutage } from './outage-decision.js';
import type { RouteRequirements } from './route-requirements.js';

const route = (extra: Partial<RouteRequirements>): RouteRequirements => ({
  isPublic: false,
  traps: [],
  allScopes: [],
  anyScopes: [],
  outagePolicy: 'fail-closed',
  requireDpop: false,
  errors: [],
  ...extra,
});
const failOpen = route({ outagePolicy: 'fail-open' });
const optional = route({ optional: { invalidToken: 'refuse', onOutage: 'anonymous' } });
const unavailable = (reason: UnavailableReason, circuitOpenedBy?: UnavailableReason) =>
  new AuthorizationServerUnavailableError(reason, 7, 'unavailable', circuitOpenedBy ? { circuitOpenedBy } : {});
/** `circuit_open (opened by X)`, or the reason alone. */
const label = (reason: UnavailableReason, openedBy?: UnavailableReason) => (openedBy ? `${reason} (opened by ${openedBy})` : reason);

describe('failOpenOutage', () => {
  it.each(
    (
      [
        ['connection_failed', undefined],
        ['timeout', undefined],
        ['circuit_open', 'connection_failed'],
        ['circuit_open', 'timeout'],
        ['circuit_open', 'server_error'],
      ] as ReadonlyArray<readonly [UnavailableReason, UnavailableReason?]>
    ).map(([r, o]) => [label(r, o), r, o] as const),
  )("fail-open and onOutage 'anonymous' let a request through on %s", (_, reason, openedBy) => {
    for (const r of [failOpen, optional]) expect(failOpenOutage(r, unavailable(reason, openedBy))).toEqual({ reason, retryAfterSeconds: 7 });
  });

  it.each(
    (
      [
        ['rate_limited', undefined],
        ['overloaded', undefined],
        ['client_authentication_failed', undefined],
        ['circuit_open', 'rate_limited'],
        ['circuit_open', 'overloaded'],
        ['circuit_open', 'unexpected_error'],
        ['circuit_open', undefined],
      ] as ReadonlyArray<readonly [UnavailableReason, UnavailableReason?]>
    ).map(([r, o]) => [label(r, o), r, o] as const),
  )('neither lets a request through on %s: 503', (_, reason, openedBy) => {
    for (const r of [failOpen, optional]) expect(failOpenOutage(r, unavailable(reason, openedBy))).toBeUndefined();
  });

  it("in GraphQL an @OptionalToken() route's onOutage 'anonymous' does not let a sent token through (fields share its principal)", () => {
    expect(failOpenOutage(optional, unavailable('connection_failed'), true)).toBeUndefined();
    expect(failOpenOutage(optional, unavailable('connection_failed'), false)).toEqual({ reason: 'connection_failed', retryAfterSeconds: 7 });
  });
});
