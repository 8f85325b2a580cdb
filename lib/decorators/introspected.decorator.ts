import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { INTROSPECTION_RESULT, requestOf } from '../guard/execution-context.js';

/**
 * Injects the validated introspection result of the current request (what `TokenGuard` stored),
 * or one of its claims: `@Introspected() token: ActiveIntrospectionResult`, `@Introspected('sub') sub: string`.
 * Undefined on `@Public()` routes and under `fail-open` during an outage.
 */
export const Introspected = createParamDecorator((claim: string | undefined, context: ExecutionContext) => {
  const request = requestOf(context) as Record<symbol, unknown> | undefined;
  const result = request?.[INTROSPECTION_RESULT] as Record<string, unknown> | undefined;
  return claim ? result?.[claim] : result;
});
