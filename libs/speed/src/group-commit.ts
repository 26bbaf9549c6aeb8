import { partitionKey, TandemError } from '@tandem/platform';
import type { PartitionOutcome, PartitionWork, RealtimeViewWriter } from './realtime-view-writer';

/**
 * Group commit: partition batches that are ready at the same time share one transaction.
 *
 * The log hands several partitions' batches over concurrently; each waits here for the
 * transaction that carries it. While one transaction runs, newly ready batches queue and go
 * together in the next. Every batch still resolves only after its own rows and offsets
 * committed, so nothing about exactly-once changes; the database just sees fewer, larger
 * transactions.
 *
 * Pieces of one batch (works marked `continuation`) that queued up while PostgreSQL was
 * busy go together, in order, in the next transaction: the transactions grow when the
 * database falls behind, and stay small, for overlap, when it keeps up. Two batches of one
 * partition never share a transaction.
 */
export class BatchAbandonedError extends TandemError {
  override readonly name = 'BatchAbandonedError';
  constructor(what: string) {
    super(`batch of ${what} abandoned before commit (stopping or partition revoked)`, true);
  }
}

interface Pending {
  readonly work: PartitionWork;
  readonly stillOwned: () => boolean;
  readonly resolve: (outcome: PartitionOutcome) => void;
  readonly reject: (error: unknown) => void;
}

export interface GroupCommitHooks {
  /** Called after each commit with the works and outcomes it carried, and its duration. */
  readonly committed?: (works: readonly PartitionWork[], outcomes: readonly PartitionOutcome[], seconds: number) => void;
  readonly failed?: (works: readonly PartitionWork[], error: unknown) => void;
}

export class GroupCommit {
  private queue: Pending[] = [];
  private draining = false;

  constructor(
    private readonly writer: Pick<RealtimeViewWriter, 'write'>,
    private readonly hooks: GroupCommitHooks = {},
  ) {}

  /** Resolves once the work's transaction committed; rejects if it failed or was abandoned. */
  submit(work: PartitionWork, stillOwned: () => boolean): Promise<PartitionOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ work, stillOwned, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        // Let the other partitions handed over in this turn join the same transaction.
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) await this.commitNext();
    } finally {
      this.draining = false;
    }
  }

  private async commitNext(): Promise<void> {
    const group: Pending[] = [];
    const later: Pending[] = [];
    const taken = new Set<string>();
    // Partitions whose next queued work must wait for the next transaction, in queue order.
    const closed = new Set<string>();
    for (const pending of this.queue) {
      const key = partitionKey(pending.work);
      if (closed.has(key)) later.push(pending);
      else if (!pending.stillOwned()) {
        pending.reject(new BatchAbandonedError(key));
        closed.add(key);
      } else if (!taken.has(key)) {
        taken.add(key);
        group.push(pending);
      } else if (pending.work.continuation) {
        // The next piece of the same batch: it joins the transaction of the piece before it.
        group.push(pending);
      } else {
        closed.add(key);
        later.push(pending);
      }
    }
    this.queue = later;
    if (group.length === 0) return;
    const works = group.map((p) => p.work);
    const started = process.hrtime.bigint();
    try {
      const outcomes = await this.writer.write(works);
      this.hooks.committed?.(works, outcomes, Number(process.hrtime.bigint() - started) / 1e9);
      group.forEach((p, i) => p.resolve(outcomes[i]));
    } catch (error) {
      this.hooks.failed?.(works, error);
      for (const p of group) p.reject(error);
    }
  }
}
