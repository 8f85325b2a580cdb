import { Controller, Get, Post, ServiceUnavailableException } from '@nestjs/common';
import { AnyScope, Introspected, OutagePolicy, PhantomToken, Public, Scopes, type ActiveIntrospectionResult } from 'nestjs-token-introspection';

/** What a user of the library writes: decorators on routes, nothing else. */
@Controller()
export class OrdersController {
  /** Anyone may call this: no token, no call to the authorization server. */
  @Public()
  @Get()
  index() {
    return { service: 'orders', docs: 'see README.md' };
  }

  /** Needs a token with scope `read`. */
  @Get('orders')
  @Scopes('read')
  list(@Introspected() token: ActiveIntrospectionResult) {
    return { orders: [{ id: 1, item: 'coffee' }], client: token.client_id, scopes: token.scopes };
  }

  /** Needs `read` and `write`. */
  @Post('orders')
  @Scopes('read', 'write')
  create() {
    return { created: { id: 2 } };
  }

  /** Needs `admin` or `write` (either is enough). */
  @Get('reports')
  @AnyScope('admin', 'write')
  reports() {
    return { revenue: 42 };
  }

  /** Keeps working during an outage for a token that was recently valid (flagged `stale`). */
  @Get('catalog')
  @Scopes('read')
  @OutagePolicy('serve-stale')
  catalog(@Introspected('stale') stale: boolean | undefined) {
    return { catalog: ['coffee', 'tea'], servedFromStaleCache: stale === true };
  }

  /**
   * Calls the internal stock service with a phantom token: a short-lived JWT minted from the caller's
   * token, which the stock service validates locally (no call to the authorization server).
   */
  @Get('orders/stock')
  @Scopes('read')
  async stock(@PhantomToken() phantom: string) {
    const internal = process.env.INTERNAL_URL;
    if (!internal) throw new ServiceUnavailableException('The internal stock service is not running (INTERNAL_URL is unset).');
    const res = await fetch(`${internal}/stock`, { headers: { authorization: `Bearer ${phantom}` } });
    return { fromInternalService: res.status === 200 ? await res.json() : { status: res.status } };
  }
}
