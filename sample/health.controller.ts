import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { IntrospectionHealthIndicator, Public } from 'nestjs-token-introspection';

/** Kubernetes probes: readiness follows the authorization server, liveness never does. */
@Controller('health')
@Public()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly authorizationServer: IntrospectionHealthIndicator,
  ) {}

  /** Readiness: take this pod out of the load balancer while it cannot verify tokens. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.authorizationServer.isHealthy()]);
  }

  /** Liveness: the process is fine. An AS outage must not restart every pod. */
  @Get('live')
  live() {
    return { status: 'ok' };
  }
}
