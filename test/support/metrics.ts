import { MetricReader, type DataPoint } from '@opentelemetry/sdk-metrics';

/** An OpenTelemetry metric reader that collects on demand (in memory). */
export class CollectingReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** The data points of one instrument. */
export async function points(reader: CollectingReader, name: string): Promise<DataPoint<number>[]> {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
  return (metric?.dataPoints ?? []) as DataPoint<number>[];
}

/** The sum of an instrument's data points that carry these attributes (counts for histograms). */
export async function sum(reader: CollectingReader, name: string, attributes: Record<string, string> = {}): Promise<number> {
  return (await points(reader, name))
    .filter((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v))
    .reduce((total, p) => total + (typeof p.value === 'number' ? p.value : (p.value as { count: number }).count), 0);
}
