import { createParamDecorator } from '@nestjs/common';
import { introspectionResults, requestOf } from '../guard/execution-context.js';
/**
 * Injects the validated introspection result of the current request (what `TokenGuard` stored),
 * or one of its claims: `@Introspected() token: ActiveIntrospectionResult`, `@Introspected('sub') sub: string`.
 * Undefined on `@Public()` routes and under `fail-open` during an outage.
 */
export const Introspected = createParamDecorator((claim, context) => {
    const request = requestOf(context);
    const result = (request && introspectionResults.get(request));
    return claim ? result?.[claim] : result;
});
