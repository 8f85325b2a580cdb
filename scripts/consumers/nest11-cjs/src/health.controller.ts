import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { IntrospectionHealthIndicator, Public } from 'nestjs-token-introspection';

// The README's health snippet, as written there.
@Controller('health')
@Public()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly authorizationServer: IntrospectionHealthIndicator,
  ) {}

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.authorizationServer.isHealthy()]);
  } // key: 'authorization-server'

  @Get('live')
  live() {
    return { status: 'ok' };
  } // never depends on the AS
}
