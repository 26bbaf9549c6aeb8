import type { DeadLetterReason } from '@tandem/contracts';
import { Counter } from 'prom-client';
import { EdgeMetrics } from '@tandem/platform';
import type { IngestObserver } from './ingest-service';

/** The ingest service's metrics: the edge's, plus events by outcome and unavailability of the log. */
export class IngestMetrics extends EdgeMetrics implements IngestObserver {
  private readonly events = new Counter({
    name: 'tandem_ingest_events_total',
    help: 'Events received, by stream and outcome (accepted, or the rejection reason)',
    labelNames: ['stream', 'outcome'],
    registers: [this.registry],
  });
  private readonly unavailableTotal = new Counter({
    name: 'tandem_ingest_log_unavailable_total',
    help: 'Publishes answered unavailable because the log did not acknowledge in time, by stream and cause',
    labelNames: ['stream', 'cause'],
    registers: [this.registry],
  });

  constructor(options: { readonly defaultMetrics?: boolean } = {}) {
    super('tandem_ingest', options);
  }

  published(stream: string, accepted: number, rejected: ReadonlyMap<DeadLetterReason, number>): void {
    if (accepted > 0) this.events.inc({ stream, outcome: 'accepted' }, accepted);
    for (const [reason, n] of rejected) this.events.inc({ stream, outcome: reason }, n);
  }

  unavailable(stream: string, cause: string): void {
    this.unavailableTotal.inc({ stream, cause });
  }
}
