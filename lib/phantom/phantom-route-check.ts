import type { ModulesContainer } from '@nestjs/core';
import { IntrospectionConfigurationError } from '../errors/introspection.errors.js';
import { PHANTOM_AUDIENCES_KEY } from '../introspection.constants.js';

/** Internal: what the start-up check reads per `@PhantomToken()` — the audience, `null` for the default, or an explicit `undefined`. */
export type PhantomAudienceUse = string | null | { readonly explicitUndefined: true };

/**
 * Start-up check of every controller route and provider method (GraphQL resolvers), inherited ones included:
 * `@PhantomToken(undefined)` fails, an audience given to `@PhantomToken(aud)` must be in
 * `phantom.audiences`, and `@PhantomToken()` needs the `phantom` option — otherwise each call of that
 * route would fail. With several modules in one application, any one's audiences will do.
 * @param audiencesOf the audiences of a provider that is an enabled `PhantomTokenService`, else undefined.
 */
export function checkPhantomRoutes(modules: ModulesContainer, audiencesOf: (provider: unknown) => Iterable<string> | undefined): void {
  const allowed = new Set<string>();
  let enabled = false;
  const uses: Array<{ where: string; audience: PhantomAudienceUse }> = [];
  const scanned = new Set<unknown>();
  for (const module of modules.values()) {
    for (const wrapper of module.providers.values()) {
      const audiences = audiencesOf(wrapper.instance);
      if (audiences) {
        enabled = true;
        for (const a of audiences) allowed.add(a);
      }
    }
    // Controllers, and providers too: GraphQL resolvers (and other handlers Nest calls with parameter decorators) are providers.
    for (const wrapper of [...module.controllers.values(), ...module.providers.values()]) {
      for (const candidate of [wrapper.metatype, (wrapper.instance as object | undefined)?.constructor]) {
        if (typeof candidate !== 'function' || !candidate.prototype || candidate === Object || scanned.has(candidate)) continue;
        scanned.add(candidate);
        for (const name of methodNames(candidate.prototype as object)) {
          const declared = Reflect.getMetadata?.(PHANTOM_AUDIENCES_KEY, candidate, name) as PhantomAudienceUse[] | undefined;
          for (const audience of declared ?? []) uses.push({ where: `${candidate.name}.${name}`, audience });
        }
      }
    }
  }
  if (!uses.length) return;
  if (!enabled) {
    throw new IntrospectionConfigurationError(
      `@PhantomToken() is used (${[...new Set(uses.map((u) => u.where))].join(', ')}) but phantom tokens are off: set the \`phantom\` ` +
        'option of IntrospectionModule (issuer, audiences), or remove the decorator.',
    );
  }
  const isUndefinedUse = (a: PhantomAudienceUse) => typeof a === 'object' && a !== null && a.explicitUndefined === true;
  const undefinedUses = uses.filter((u) => isUndefinedUse(u.audience));
  if (undefinedUses.length) {
    throw new IntrospectionConfigurationError(
      `@PhantomToken(undefined) (${[...new Set(undefinedUses.map((u) => u.where))].join(', ')}): the audience passed is undefined — an unset ` +
        'variable or configuration value? Pass one of `phantom.audiences`, or write `@PhantomToken()` for the first of them.',
    );
  }
  const unknown = uses.filter((u) => u.audience !== null && !isUndefinedUse(u.audience) && !allowed.has(u.audience as string));
  if (unknown.length) {
    throw new IntrospectionConfigurationError(
      `@PhantomToken() names audiences that are not in \`phantom.audiences\`:\n${unknown
        .map(
          (u) =>
            `  - ${u.where}: '${String(u.audience)}' — add it to \`phantom.audiences\` (now ${[...allowed].map((a) => `'${a}'`).join(', ')}), or fix the decorator's argument.`,
        )
        .join('\n')}`,
    );
  }
}

/** Method names of a prototype and of the classes it extends (an inherited route is a route of the subclass). */
function methodNames(prototype: object): string[] {
  const names = new Set<string>();
  for (let p: object | null = prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const name of Object.getOwnPropertyNames(p)) if (name !== 'constructor') names.add(name);
  }
  return [...names];
}
