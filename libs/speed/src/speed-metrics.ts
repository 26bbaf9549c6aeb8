import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * The speed layer's Prometheus metrics, registered on the registry the process gives it (one
 * per process; the all-in-one process shares it between layers, hence no default registry).
 */
export class SpeedMetrics {
  readonly records: Counter<'topic'>;
  readonly deadLetters: Counter<'stream' | 'reason'>;
  readonly batchRecords: Histogram;
  readonly rowsWritten: Counter;
  readonly transactions: Counter<'outcome'>;
  readonly transactionSeconds: Histogram;
  readonly lag: Gauge<'topic' | 'partition'>;
  readonly freshness: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.records = new Counter({ name: 'tandem_speed_records_total', help: 'Records consumed and committed, valid or dead-lettered', labelNames: ['topic'], registers });
    this.deadLetters = new Counter({
      name: 'tandem_speed_dead_letters_total',
      help: 'Records sent to the dead-letter topic, by reason',
      labelNames: ['stream', 'reason'],
      registers,
    });
    this.batchRecords = new Histogram({
      name: 'tandem_speed_batch_records',
      help: 'Records per committed piece of a partition batch',
      buckets: [1, 10, 100, 1_000, 5_000, 10_000, 50_000, 100_000],
      registers,
    });
    this.rowsWritten = new Counter({ name: 'tandem_speed_rows_written_total', help: 'Realtime rows inserted or updated', registers });
    this.transactions = new Counter({ name: 'tandem_speed_transactions_total', help: 'Write transactions, by outcome', labelNames: ['outcome'], registers });
    this.transactionSeconds = new Histogram({
      name: 'tandem_speed_transaction_seconds',
      help: 'Duration of a write transaction',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.lag = new Gauge({ name: 'tandem_speed_lag', help: 'Records between the committed position and the end of the partition', labelNames: ['topic', 'partition'], registers });
    this.freshness = new Gauge({ name: 'tandem_speed_freshness_ms', help: 'Now minus the log time of the newest committed record, at commit', registers });
  }
}
