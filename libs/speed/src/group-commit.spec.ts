import type { PartitionOutcome, PartitionWork } from './realtime-view-writer';
import { BatchAbandonedError, GroupCommit } from './group-commit';

const work = (topic: string, partition: number, lastOffset: number) => ({ topic, partition, lastOffset }) as unknown as PartitionWork;
const outcome = (w: PartitionWork): PartitionOutcome => ({ applied: true, nextOffset: w.lastOffset + 1, events: 1, rows: 1 });

/**
 * Records the transactions it is asked for; each takes a little while, as a real one does.
 * `firstStarted` settles when the first transaction begins, so a test can queue work behind it
 * without guessing how long the scheduler takes to start it.
 */
function recordingWriter(fail?: (works: readonly PartitionWork[]) => boolean) {
  const transactions: string[][] = [];
  let started!: () => void;
  const firstStarted = new Promise<void>((resolve) => (started = resolve));
  return {
    transactions,
    firstStarted,
    write: async (works: readonly PartitionWork[]) => {
      transactions.push(works.map((w) => `${w.topic}:${w.partition}@${w.lastOffset}`));
      started();
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (fail?.(works)) throw new Error('transaction failed');
      return works.map(outcome);
    },
  };
}

describe('GroupCommit', () => {
  it('commits batches that are ready together in one transaction, and later ones in the next', async () => {
    const writer = recordingWriter();
    const commits = new GroupCommit(writer);
    const first = [commits.submit(work('t', 0, 9), () => true), commits.submit(work('t', 1, 19), () => true)];
    await writer.firstStarted; // the first transaction is running
    const later = [commits.submit(work('t', 2, 29), () => true), commits.submit(work('t', 0, 39), () => true)];
    const outcomes = await Promise.all([...first, ...later]);
    expect(outcomes.map((o) => o.nextOffset)).toEqual([10, 20, 30, 40]);
    expect(writer.transactions).toEqual([['t:0@9', 't:1@19'], ['t:2@29', 't:0@39']]);
  });

  it('never puts two batches of one partition in one transaction', async () => {
    const writer = recordingWriter();
    const commits = new GroupCommit(writer);
    await Promise.all([commits.submit(work('t', 0, 9), () => true), commits.submit(work('t', 0, 19), () => true)]);
    expect(writer.transactions).toEqual([['t:0@9'], ['t:0@19']]);
  });

  it('puts the queued pieces of one batch in one transaction, in order, and a new batch in the next', async () => {
    const writer = recordingWriter();
    const commits = new GroupCommit(writer);
    const piece = (partition: number, lastOffset: number) => ({ ...work('t', partition, lastOffset), continuation: true }) as PartitionWork;
    const first = commits.submit(work('t', 0, 9), () => true);
    await writer.firstStarted; // the first transaction is running
    const queued = [
      commits.submit(piece(0, 19), () => true),
      commits.submit(work('t', 1, 9), () => true),
      commits.submit(piece(0, 29), () => true),
      commits.submit(work('t', 0, 39), () => true), // a new batch of partition 0
      commits.submit(piece(0, 49), () => true),
    ];
    const outcomes = await Promise.all([first, ...queued]);
    expect(outcomes.map((o) => o.nextOffset)).toEqual([10, 20, 10, 30, 40, 50]);
    expect(writer.transactions).toEqual([['t:0@9'], ['t:0@19', 't:1@9', 't:0@29'], ['t:0@39', 't:0@49']]);
  });

  it('keeps the pieces after an abandoned one out of the transaction', async () => {
    const writer = recordingWriter();
    const commits = new GroupCommit(writer);
    const piece = (lastOffset: number) => ({ ...work('t', 0, lastOffset), continuation: true }) as PartitionWork;
    const first = commits.submit(work('t', 0, 9), () => false);
    const after = commits.submit(piece(19), () => true);
    await expect(first).rejects.toBeInstanceOf(BatchAbandonedError);
    await after;
    expect(writer.transactions).toEqual([['t:0@19']]);
  });

  it('abandons a batch whose partition was lost before its transaction began', async () => {
    const writer = recordingWriter();
    const commits = new GroupCommit(writer);
    const lost = commits.submit(work('t', 0, 9), () => false);
    const kept = commits.submit(work('t', 1, 9), () => true);
    await expect(lost).rejects.toBeInstanceOf(BatchAbandonedError);
    await expect(kept).resolves.toMatchObject({ nextOffset: 10 });
    expect(writer.transactions).toEqual([['t:1@9']]);
  });

  it('fails every batch of a failed transaction, and goes on with the next', async () => {
    const writer = recordingWriter((works) => works.some((w) => w.partition === 0));
    const failures: unknown[] = [];
    const commits = new GroupCommit(writer, { failed: (_, error) => failures.push(error) });
    const results = await Promise.allSettled([commits.submit(work('t', 0, 9), () => true), commits.submit(work('t', 1, 9), () => true)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(failures).toHaveLength(1);
    await expect(commits.submit(work('t', 1, 9), () => true)).resolves.toMatchObject({ nextOffset: 10 });
  });
});
