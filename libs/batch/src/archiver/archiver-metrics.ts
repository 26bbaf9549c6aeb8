import { Counter, Gauge, Histogram, register as globalRegistry, type Registry } from 'prom-client';

/**
 * The archiver's Prometheus metrics. Metrics already in the registry (a second archiver in
 * the same process, a test) are reused rather than registered twice.
 */
export class ArchiverMetrics {
  readonly filesWritten: Counter<'stream'>;
  readonly recordsArchived: Counter<'stream'>;
  readonly recordsSkipped: Counter<'stream' | 'reason'>;
  readonly bytesWritten: Counter<'stream'>;
  readonly filesAdopted: Counter<'stream'>;
  readonly flushFailures: Counter<'stream'>;
  readonly flushesSuperseded: Counter<'stream'>;
  readonly flushSeconds: Histogram<'stream'>;
  readonly lag: Gauge<'stream' | 'partition'>;
  readonly buffered: Gauge<'stream' | 'partition'>;

  constructor(registry: Registry = globalRegistry) {
    const metric = <M>(name: string, create: (registers: Registry[]) => M): M => (registry.getSingleMetric(name) as M | undefined) ?? create([registry]);
    this.filesWritten = metric('tandem_archiver_files_written_total', (registers) =>
      new Counter({ name: 'tandem_archiver_files_written_total', help: 'Lake data files written (with their manifest entries)', labelNames: ['stream'], registers }),
    );
    this.recordsArchived = metric('tandem_archiver_records_archived_total', (registers) =>
      new Counter({ name: 'tandem_archiver_records_archived_total', help: 'Records written to the lake', labelNames: ['stream'], registers }),
    );
    this.recordsSkipped = metric('tandem_archiver_records_skipped_total', (registers) =>
      new Counter({
        name: 'tandem_archiver_records_skipped_total',
        help: 'Log records that failed their contract and were not archived (counted in the manifest)',
        labelNames: ['stream', 'reason'],
        registers,
      }),
    );
    this.bytesWritten = metric('tandem_archiver_bytes_written_total', (registers) =>
      new Counter({ name: 'tandem_archiver_bytes_written_total', help: 'Bytes of lake data files written', labelNames: ['stream'], registers }),
    );
    this.filesAdopted = metric('tandem_archiver_files_adopted_total', (registers) =>
      new Counter({
        name: 'tandem_archiver_files_adopted_total',
        help: 'Data files found without a manifest entry after a crash and recorded on restart',
        labelNames: ['stream'],
        registers,
      }),
    );
    this.flushFailures = metric('tandem_archiver_flush_failures_total', (registers) =>
      new Counter({ name: 'tandem_archiver_flush_failures_total', help: 'Flushes that failed (retried)', labelNames: ['stream'], registers }),
    );
    this.flushesSuperseded = metric('tandem_archiver_flushes_superseded_total', (registers) =>
      new Counter({
        name: 'tandem_archiver_flushes_superseded_total',
        help: 'Flushes that found another member writing the same partition (the partition is then re-read)',
        labelNames: ['stream'],
        registers,
      }),
    );
    this.flushSeconds = metric('tandem_archiver_flush_seconds', (registers) =>
      new Histogram({
        name: 'tandem_archiver_flush_seconds',
        help: 'Time to write one data file and its manifest entry',
        labelNames: ['stream'],
        buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers,
      }),
    );
    this.lag = metric('tandem_archiver_lag_records', (registers) =>
      new Gauge({
        name: 'tandem_archiver_lag_records',
        help: 'Records in the log not yet durable in the lake, per partition (as of the last batch)',
        labelNames: ['stream', 'partition'],
        registers,
      }),
    );
    this.buffered = metric('tandem_archiver_buffered_records', (registers) =>
      new Gauge({ name: 'tandem_archiver_buffered_records', help: 'Records consumed and waiting for a flush', labelNames: ['stream', 'partition'], registers }),
    );
  }
}
