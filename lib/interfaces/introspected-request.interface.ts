import type { IntrospectionOutage } from '../guard/token.guard.js';
import type { ActiveIntrospectionResult } from './introspection-result.interface.js';

/**
 * A request after `TokenGuard`: the validated introspection result sits on `request[userProperty]`
 * (`user` by default). Absent on `@Public()` routes and when a `fail-open` route proceeds during an
 * outage, which then sets `introspectionOutage`.
 *
 * ```ts
 * import type { Request } from 'express';
 * @Get() list(@Req() req: IntrospectedRequest<Request>) { return req.user?.sub; }
 * ```
 * With `userProperty: 'principal'`: `IntrospectedRequest<Request, 'principal'>`.
 */
export type IntrospectedRequest<TRequest extends object = Record<string, unknown>, TProperty extends string = 'user'> = TRequest & {
  [P in TProperty]?: ActiveIntrospectionResult;
} & {
  introspectionOutage?: IntrospectionOutage;
};
