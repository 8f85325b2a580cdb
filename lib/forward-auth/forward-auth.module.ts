import { Inject, Module, Optional, type DynamicModule, type NestModule, type Type } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ForwardAuthOptions } from './forward-auth-options.interface.js';
import { createForwardAuthController, routeForAdapter } from './forward-auth.controller.js';
import { ForwardAuthResponder } from './forward-auth.responder.js';
import { FORWARD_AUTH_SETTINGS, resolveForwardAuthOptions } from './resolve-forward-auth-options.js';

/** Injection token of this module instance's decision controller (internal). */
const FORWARD_AUTH_CONTROLLER = Symbol.for('token-introspection:forward-auth-controller');

/**
 * The forward-auth decision endpoint: nginx `auth_request`, Traefik `ForwardAuth` and Envoy `ext_authz` (HTTP) ask it
 * whether to let a request through, and get `TokenGuard`'s answers (200 with identity headers, 400, 401, 403, 503 +
 * `Retry-After`) from the application's `IntrospectionService`: its cache, single-flight and breaker. Import it beside
 * `IntrospectionModule.forRoot(...)` (global, the default); options are checked when the module is defined.
 */
@Module({})
export class ForwardAuthModule implements NestModule {
  constructor(
    @Inject(FORWARD_AUTH_CONTROLLER) private readonly controller: Type<unknown>,
    @Inject(FORWARD_AUTH_SETTINGS) private readonly settings: { readonly path: string },
    @Optional() private readonly adapterHost?: HttpAdapterHost,
  ) {}

  /** The decision endpoint on `options.path` (default `/auth/decision`). */
  static forRoot(options: ForwardAuthOptions = {}): DynamicModule {
    const settings = resolveForwardAuthOptions(options);
    const controller = createForwardAuthController(settings.path);
    return {
      module: ForwardAuthModule,
      controllers: [controller],
      providers: [{ provide: FORWARD_AUTH_SETTINGS, useValue: settings }, { provide: FORWARD_AUTH_CONTROLLER, useValue: controller }, ForwardAuthResponder],
    };
  }

  /** Nest calls this before it registers routes: the wildcard route in the syntax of the application's router. */
  configure(): void {
    routeForAdapter(this.controller, this.settings.path, this.adapterHost?.httpAdapter?.getType());
  }
}
