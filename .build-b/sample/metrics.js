var __decorate = (this && this.__decorate) || function (decorators, target, key, desc) {
    var c = arguments.length, r = c < 3 ? target : desc === null ? desc = Object.getOwnPropertyDescriptor(target, key) : desc, d;
    if (typeof Reflect === "object" && typeof Reflect.decorate === "function") r = Reflect.decorate(decorators, target, key, desc);
    else for (var i = decorators.length - 1; i >= 0; i--) if (d = decorators[i]) r = (c < 3 ? d(r) : c > 3 ? d(target, key, r) : d(target, key)) || r;
    return c > 3 && r && Object.defineProperty(target, key, r), r;
};
var __metadata = (this && this.__metadata) || function (k, v) {
    if (typeof Reflect === "object" && typeof Reflect.metadata === "function") return Reflect.metadata(k, v);
};
import { Controller, Get, Header } from '@nestjs/common';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { Public } from 'nestjs-token-introspection';
/**
 * OpenTelemetry metrics in Prometheus format. Register the SDK *before* the Nest application is
 * created: the library creates its instruments at start-up from the global meter provider.
 */
export const prometheus = new PrometheusExporter({ preventServerStart: true });
export function registerMetrics() {
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [prometheus] }));
}
const serializer = new PrometheusSerializer();
let MetricsController = class MetricsController {
    /** Scraped by Prometheus; served on the same port here, keep it internal in production. */
    async scrape() {
        const { resourceMetrics, errors } = await prometheus.collect();
        if (errors.length)
            throw errors[0];
        return serializer.serialize(resourceMetrics);
    }
};
__decorate([
    Get(),
    Header('content-type', 'text/plain; version=0.0.4; charset=utf-8'),
    __metadata("design:type", Function),
    __metadata("design:paramtypes", []),
    __metadata("design:returntype", Promise)
], MetricsController.prototype, "scrape", null);
MetricsController = __decorate([
    Controller('metrics'),
    Public()
], MetricsController);
export { MetricsController };
