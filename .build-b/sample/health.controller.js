var __decorate = (this && this.__decorate) || function (decorators, target, key, desc) {
    var c = arguments.length, r = c < 3 ? target : desc === null ? desc = Object.getOwnPropertyDescriptor(target, key) : desc, d;
    if (typeof Reflect === "object" && typeof Reflect.decorate === "function") r = Reflect.decorate(decorators, target, key, desc);
    else for (var i = decorators.length - 1; i >= 0; i--) if (d = decorators[i]) r = (c < 3 ? d(r) : c > 3 ? d(target, key, r) : d(target, key)) || r;
    return c > 3 && r && Object.defineProperty(target, key, r), r;
};
var __metadata = (this && this.__metadata) || function (k, v) {
    if (typeof Reflect === "object" && typeof Reflect.metadata === "function") return Reflect.metadata(k, v);
};
import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { IntrospectionHealthIndicator, Public } from 'nestjs-token-introspection';
/** Kubernetes probes: readiness follows the authorization server, liveness never does. */
let HealthController = class HealthController {
    constructor(health, authorizationServer) {
        this.health = health;
        this.authorizationServer = authorizationServer;
    }
    /** Readiness: take this pod out of the load balancer while it cannot verify tokens. */
    ready() {
        return this.health.check([() => this.authorizationServer.isHealthy()]);
    }
    /** Liveness: the process is fine. An AS outage must not restart every pod. */
    live() {
        return { status: 'ok' };
    }
};
__decorate([
    Get('ready'),
    HealthCheck(),
    __metadata("design:type", Function),
    __metadata("design:paramtypes", []),
    __metadata("design:returntype", void 0)
], HealthController.prototype, "ready", null);
__decorate([
    Get('live'),
    __metadata("design:type", Function),
    __metadata("design:paramtypes", []),
    __metadata("design:returntype", void 0)
], HealthController.prototype, "live", null);
HealthController = __decorate([
    Controller('health'),
    Public(),
    __metadata("design:paramtypes", [HealthCheckService,
        IntrospectionHealthIndicator])
], HealthController);
export { HealthController };
