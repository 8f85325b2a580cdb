import { SetMetadata } from '@nestjs/common';
import { OUTAGE_POLICY_KEY } from '../introspection.constants.js';
/** Overrides the module's `outagePolicy` for a handler or a controller (handler wins). */
export function OutagePolicy(policy) {
    if (!['fail-closed', 'serve-stale', 'fail-open'].includes(policy)) {
        throw new Error(`@OutagePolicy() takes 'fail-closed', 'serve-stale' or 'fail-open'; got ${JSON.stringify(policy)}.`);
    }
    return SetMetadata(OUTAGE_POLICY_KEY, policy);
}
