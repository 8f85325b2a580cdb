import { SetMetadata } from '@nestjs/common';
import { ANY_SCOPE_KEY, SCOPES_KEY } from '../introspection.constants.js';

/**
 * Requires every listed scope. On a controller and on a handler both apply: the token needs the
 * union of both lists. A missing scope answers 403 `insufficient_scope`.
 */
export function Scopes(...scopes: string[]): ClassDecorator & MethodDecorator {
  return SetMetadata(SCOPES_KEY, validate('Scopes', scopes));
}

/**
 * Requires at least one of the listed scopes. On a controller and on a handler both apply: each
 * list must be satisfied. Combines with `@Scopes()`.
 */
export function AnyScope(...scopes: string[]): ClassDecorator & MethodDecorator {
  return SetMetadata(ANY_SCOPE_KEY, validate('AnyScope', scopes));
}

function validate(name: string, scopes: string[]): readonly string[] {
  // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
  const bad = scopes.filter((s) => typeof s !== 'string' || !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s));
  if (scopes.length === 0 || bad.length > 0) {
    throw new Error(`@${name}() needs one or more scope names without spaces, quotes or backslashes; got ${JSON.stringify(scopes)}.`);
  }
  return Object.freeze([...scopes]);
}
