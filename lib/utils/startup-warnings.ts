import { Logger } from '@nestjs/common';

/** The warnings already printed, per application (keyed by its `ModulesContainer`: one per Nest application). */
const printed = new WeakMap<object, Set<string>>();

/**
 * Logs a start-up warning once per application. Several objects may come to the same warning in one
 * application: the guard instance behind `APP_GUARD` is also the `TokenGuard` provider (Nest calls its
 * `onApplicationBootstrap` once per provider entry), `@UseGuards(TokenGuard)` and subclasses make
 * instances of their own, and `IntrospectionModule` imported in several modules (`forRoot`/`forRootAsync`)
 * makes one set of providers per import. `application` is the application's `ModulesContainer`; without
 * one the warning is simply logged. Internal.
 */
export function warnOnce(application: object | undefined, context: string, message: string): void {
  if (application) {
    let seen = printed.get(application);
    if (!seen) printed.set(application, (seen = new Set()));
    const key = `${context}\n${message}`;
    if (seen.has(key)) return;
    seen.add(key);
  }
  new Logger(context).warn(message);
}
