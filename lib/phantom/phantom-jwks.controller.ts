import { Controller, Get, Header, Inject, NotFoundException, type Type } from '@nestjs/common';
import { Public } from '../decorators/public.decorator.js';
import { PhantomTokenService } from './phantom-token.service.js';

/**
 * Builds the controller publishing the phantom-token keys at `GET <path>` (a JWK Set, public, no
 * token needed): what internal services set as `jwt.jwksUri`. The module extra `phantomJwksPath`.
 */
export function createPhantomJwksController(path: string): Type<unknown> {
  @Controller()
  @Public()
  class PhantomJwksController {
    constructor(@Inject(PhantomTokenService) private readonly phantom: PhantomTokenService) {}

    @Get(path)
    // Short: downstream services pick up a rotation on an unknown `kid` anyway.
    @Header('cache-control', 'public, max-age=60')
    jwks() {
      const set = this.phantom.jwks();
      if (set.keys.length === 0) throw new NotFoundException('Phantom tokens are off.');
      return set;
    }
  }
  return PhantomJwksController;
}
