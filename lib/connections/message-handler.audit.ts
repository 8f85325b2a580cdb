import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import { PUBLIC_KEY, RESOLVED_OPTIONS } from '../introspection.constants.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { TokenGuard } from '../guard/token.guard.js';
import { warnOnce } from '../utils/startup-warnings.js';

/** `@MessagePattern()` / `@EventPattern()` metadata (`@nestjs/microservices`' PATTERN_METADATA), read without loading the package. */
const PATTERN_METADATA = 'microservices:pattern';
/** `@UseGuards()` metadata (`@nestjs/common`'s GUARDS_METADATA). */
const GUARDS_METADATA = '__guards__';

/**
 * Start-up audit of microservice message handlers in hybrid applications (an HTTP app with `connectMicroservice()`).
 * The global guard (`APP_GUARD`) reaches a connected microservice only when it is connected with
 * `{ inheritAppConfig: true }`; otherwise every `@MessagePattern()` / `@EventPattern()` handler runs without any token,
 * whatever its decorators say. Nest does not let a module see how its microservices were connected, so handlers that
 * are neither `@Public()` nor under `@UseGuards(TokenGuard)` are named in a warning at start-up. Internal.
 */
@Injectable()
export class MessageHandlerAudit implements OnApplicationBootstrap {
  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    private readonly modules: ModulesContainer,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onApplicationBootstrap(): void {
    // `globalGuard: false`: `@UseGuards(TokenGuard)` is the only enforcement anywhere, by the user's choice.
    // No HTTP adapter: a standalone microservice, which the global guard reaches.
    if (!this.options.globalGuard || !this.adapterHost?.httpAdapter) return;
    const exposed = unguardedMessageHandlers(this.modules);
    if (exposed.length === 0) return;
    // One per application, also when the module is imported in several modules.
    warnOnce(
      this.modules,
      'IntrospectionModule',
      `UNGUARDED UNLESS CONNECTED WITH inheritAppConfig: message handlers ${exposed.join(', ')} are not @Public(), but in a hybrid ` +
        'application the global TokenGuard reaches a microservice only when it is connected with `app.connectMicroservice(options, ' +
        "{ inheritAppConfig: true })`; with Nest's default they run for any message, without a token. Fix: connect with " +
        '`{ inheritAppConfig: true }`, or put `@UseGuards(TokenGuard)` on these controllers (either way works; the latter also ' +
        'silences this warning).',
    );
  }
}

/** `Class.method (pattern)` of every message handler that is neither `@Public()` nor under `@UseGuards(TokenGuard)`. */
export function unguardedMessageHandlers(modules: ModulesContainer): string[] {
  const found: string[] = [];
  const scanned = new Set<unknown>();
  for (const module of modules.values()) {
    for (const wrapper of module.controllers.values()) {
      const type = wrapper.metatype as (abstract new (...args: never[]) => unknown) | undefined;
      if (typeof type !== 'function' || !type.prototype || scanned.has(type)) continue;
      scanned.add(type);
      const classPublic = Reflect.getMetadata(PUBLIC_KEY, type) === true;
      const classGuarded = guardedByTokenGuard(Reflect.getMetadata(GUARDS_METADATA, type));
      for (const [name, method] of methods(type.prototype as object)) {
        const patterns = Reflect.getMetadata(PATTERN_METADATA, method) as unknown;
        if (patterns === undefined) continue;
        if (classPublic || classGuarded || Reflect.getMetadata(PUBLIC_KEY, method) === true) continue;
        if (guardedByTokenGuard(Reflect.getMetadata(GUARDS_METADATA, method))) continue;
        found.push(`${type.name}.${name} (${describePatterns(patterns)})`);
      }
    }
  }
  return found;
}

function guardedByTokenGuard(guards: unknown): boolean {
  if (!Array.isArray(guards)) return false;
  return guards.some(
    (guard) => guard instanceof TokenGuard || (typeof guard === 'function' && (guard === TokenGuard || guard.prototype instanceof TokenGuard)),
  );
}

function describePatterns(patterns: unknown): string {
  const list = Array.isArray(patterns) ? patterns : [patterns];
  return list.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(', ');
}

/** Methods of a prototype and of the classes it extends (the nearest definition of each name; getters are not called). */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any method of any controller
function methods(prototype: object): Map<string, Function> {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any method of any controller
  const found = new Map<string, Function>();
  for (let p: object | null = prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const name of Object.getOwnPropertyNames(p)) {
      const value = Object.getOwnPropertyDescriptor(p, name)?.value as unknown;
      if (name !== 'constructor' && !found.has(name) && typeof value === 'function') found.set(name, value);
    }
  }
  return found;
}
