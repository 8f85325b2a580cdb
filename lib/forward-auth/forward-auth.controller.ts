import { All, Controller, HttpCode, Inject, Req, Res, UseGuards, type Type } from '@nestjs/common';
import { Public } from '../decorators/public.decorator.js';
import { ForwardAuthGuard } from './forward-auth.guard.js';
import { ForwardAuthResponder } from './forward-auth.responder.js';

/** Nest's route path metadata key (`PATH_METADATA` of @nestjs/common). */
const PATH_METADATA = 'path';

/** The paths of the decision route: `path`, and every path below it in the router syntax of the adapter. */
export function decisionPaths(path: string, adapter: string | undefined): string[] {
  // find-my-way (Fastify) takes a bare `*`; path-to-regexp 8 (Express 5) a named wildcard.
  return [path, adapter === 'fastify' ? `${path}/*` : `${path}/*rest`];
}

/** Points the decision route at the router syntax of the application's adapter; called before Nest registers routes. */
export function routeForAdapter(controller: Type<unknown>, path: string, adapter: string | undefined): void {
  const handler = (controller.prototype as { decide: object }).decide;
  Reflect.defineMetadata(PATH_METADATA, decisionPaths(path, adapter), handler);
}

/**
 * Builds the decision endpoint's controller: any method on `path` and below it (Envoy appends the original path).
 * `@Public()` for the application's global `TokenGuard`: `ForwardAuthGuard` decides.
 */
export function createForwardAuthController(path: string): Type<unknown> {
  @Controller()
  class ForwardAuthController {
    constructor(@Inject(ForwardAuthResponder) private readonly responder: ForwardAuthResponder) {}

    @All(decisionPaths(path, 'express'))
    @Public()
    @UseGuards(ForwardAuthGuard)
    @HttpCode(200)
    async decide(@Req() request: object, @Res({ passthrough: true }) response: unknown): Promise<void> {
      await this.responder.respond(request, response);
    }
  }
  return ForwardAuthController;
}
