import { createParamDecorator, type ExecutionContext, type PipeTransform, type Type } from '@nestjs/common';
import { acceptedTokens, requestOf } from '../guard/execution-context.js';
import type { ActiveIntrospectionResult } from '../interfaces/introspection-result.interface.js';

/** Claim names `@Introspected()` knows: the RFC 7662 §2.2 fields and the derived `scopes` / `stale`. */
// eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents -- the mapped type filters out the index signature
export type KnownClaim = keyof {
  [K in keyof ActiveIntrospectionResult as string extends K ? never : number extends K ? never : K]: true;
} &
  string;

/**
 * The type of a parameter decorated with `@Introspected(claim)`: the claim's type, or undefined
 * (on `@Public()` routes, on `@OptionalToken()` routes without an accepted token, under `fail-open` during an outage,
 * or when the AS did not send it).
 * `@Introspected('sub') sub: IntrospectedClaim<'sub'>` is `string | undefined`.
 */
export type IntrospectedClaim<K extends string> = (K extends KnownClaim ? ActiveIntrospectionResult[K] : unknown) | undefined;

/**
 * Signature of `@Introspected`, spelled out so the published types name nothing a supported
 * `@nestjs/common` version lacks (11 has no `ParameterDecoratorOptions`).
 */
export interface IntrospectedDecorator {
  /** The whole validated result: `@Introspected() token: ActiveIntrospectionResult`. */
  (...pipes: (Type<PipeTransform> | PipeTransform)[]): ParameterDecorator;
  /** One known claim (names complete in the editor): `@Introspected('sub') sub: IntrospectedClaim<'sub'>`. */
  <K extends KnownClaim>(claim: K, ...pipes: (Type<PipeTransform> | PipeTransform)[]): ParameterDecorator;
  /** Any other claim the authorization server returns (typed `unknown`). */
  (claim: string, ...pipes: (Type<PipeTransform> | PipeTransform)[]): ParameterDecorator;
}

/**
 * Injects the validated introspection result of the current request (what `TokenGuard` stored),
 * or one of its claims: `@Introspected() token: ActiveIntrospectionResult`, `@Introspected('sub') sub: string`.
 * Undefined on `@Public()` routes, on `@OptionalToken()` routes without an accepted token, and under `fail-open` during an outage.
 */
export const Introspected: IntrospectedDecorator = createParamDecorator((claim: string | undefined, context: ExecutionContext) => {
  const request = requestOf(context) as object | undefined;
  const result = (request && acceptedTokens.get(request)?.result) as Record<string, unknown> | undefined;
  return claim ? result?.[claim] : result;
}) as IntrospectedDecorator;
