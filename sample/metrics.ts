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
let registered = false;
export function registerMetrics(): void {
  if (registered) return; // one exporter, one provider: a second bootstrap() in one process (tests) keeps them
  registered = true;
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [prometheus] }));
}

const serializer = new PrometheusSerializer();

@Controller('metrics')
@Public()
export class MetricsController {
  /** Scraped by Prometheus; served on the same port here, keep it internal in production. */
  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    const { resourceMetrics, errors } = await prometheus.collect();
    if (errors.length) throw errors[0];
    return serializer.serialize(resourceMetrics);
  }
}
