import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Prometheus metrics of the batch layer. Created once per registry: a second runner on the
 * same registry (tests, the all-in-one process) reuses them instead of failing on a duplicate.
 */
export interface BatchMetrics {
  readonly runs: Counter<'mode' | 'status'>;
  readonly runDuration: Histogram<'mode'>;
  readonly lastSuccess: Gauge;
  readonly eventsScanned: Counter;
  readonly viewRows: Gauge<'view'>;
  readonly viewVersion: Gauge<'view'>;
  readonly driftCells: Gauge<'view'>;
  readonly conformityChunks: Gauge<'view' | 'result'>;
}

function metric<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

export function batchMetrics(registry: Registry): BatchMetrics {
  const registers = [registry];
  return {
    runs: metric(registry, 'tandem_batch_runs_total', () =>
      new Counter({ name: 'tandem_batch_runs_total', help: 'Batch runs by mode and outcome', labelNames: ['mode', 'status'] as const, registers }),
    ),
    runDuration: metric(registry, 'tandem_batch_run_duration_seconds', () =>
      new Histogram({
        name: 'tandem_batch_run_duration_seconds',
        help: 'Wall time of completed batch runs',
        labelNames: ['mode'] as const,
        buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800],
        registers,
      }),
    ),
    lastSuccess: metric(registry, 'tandem_batch_last_success_timestamp_seconds', () =>
      new Gauge({ name: 'tandem_batch_last_success_timestamp_seconds', help: 'When the last batch run completed (Unix time)', registers }),
    ),
    eventsScanned: metric(registry, 'tandem_batch_events_scanned_total', () =>
      new Counter({ name: 'tandem_batch_events_scanned_total', help: 'Lake records read by batch runs', registers }),
    ),
    viewRows: metric(registry, 'tandem_batch_view_rows', () =>
      new Gauge({ name: 'tandem_batch_view_rows', help: 'Rows (cells) of the current batch version of a view', labelNames: ['view'] as const, registers }),
    ),
    viewVersion: metric(registry, 'tandem_batch_view_version', () =>
      new Gauge({ name: 'tandem_batch_view_version', help: 'Current batch version of a view', labelNames: ['view'] as const, registers }),
    ),
    driftCells: metric(registry, 'tandem_batch_drift_cells', () =>
      new Gauge({
        name: 'tandem_batch_drift_cells',
        help: 'Cells where the speed layer disagreed with the batch recompute of the same chunks, in the last run that covered new chunks',
        labelNames: ['view'] as const,
        registers,
      }),
    ),
    conformityChunks: metric(registry, 'tandem_batch_conformity_chunks', () =>
      new Gauge({
        name: 'tandem_batch_conformity_chunks',
        help: 'Chunks newly covered by the last run, compared with the speed layer or not (speed layer not past them)',
        labelNames: ['view', 'result'] as const,
        registers,
      }),
    ),
  };
}
