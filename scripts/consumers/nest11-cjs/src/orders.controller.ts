import { Controller, Get, Post, Req } from '@nestjs/common';
import type { Request } from 'express';
import { Introspected, Scopes, type ActiveIntrospectionResult, type IntrospectedClaim, type IntrospectedRequest } from 'nestjs-token-introspection';

@Controller('orders')
@Scopes('read')
export class OrdersController {
  @Get()
  list(@Introspected() token: ActiveIntrospectionResult) {
    return { for: token.sub ?? token.client_id, scopes: token.scopes };
  }

  @Post()
  @Scopes('write')
  create() {
    return { created: true };
  }

  @Get('me')
  me(@Introspected('client_id') clientId: IntrospectedClaim<'client_id'>, @Req() req: IntrospectedRequest<Request>) {
    return { clientId, sameAsUser: req.user?.client_id === clientId, expiresAt: req.user?.exp };
  }
}
