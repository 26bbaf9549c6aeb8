import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type ConsumeOptions, type LogBatch, type LogConsumer, partitionKey, type TopicPartition } from '../log/log-port';
import { EmbeddedLog, UnknownTopicError } from './embedded-log';
import { partitionForKey } from './murmur2';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A consumer that records what it receives, starting every partition at `from` (default 0). */
function collector(groupId: string, topics: string[], from: Map<string, number> = new Map()) {
  const received: { tp: string; offset: number; value: string }[] = [];
  const batches: LogBatch[] = [];
  const startCalls: TopicPartition[][] = [];
  const options: ConsumeOptions = {
    groupId,
    topics,
    maxBatchRecords: 7,
    startOffsets: async (assigned) => {
      startCalls.push([...assigned]);
      return new Map(assigned.map((tp) => [partitionKey(tp), from.get(partitionKey(tp)) ?? 0]));
    },
    eachBatch: async (batch) => {
      batches.push(batch);
      for (const r of batch.records) received.push({ tp: partitionKey(r), offset: r.offset, value: r.value!.toString() });
    },
  };
  return { options, received, batches, startCalls };
}

describe('EmbeddedLog', () => {
  let dir: string;
  const logs: EmbeddedLog[] = [];
  const open = async (directory?: string) => {
    const log = await EmbeddedLog.open({ directory, logger: quiet });
    logs.push(log);
    return log;
  };

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tandem-elog-'));
  });
  afterEach(async () => {
    await Promise.all(logs.splice(0).map((l) => l.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('assigns offsets from 0 per partition, in send order, and partitions keys like Kafka', async () => {
    const log = await open();
    await (await log.admin()).ensureTopic('t', 3);
    const producer = await log.producer();
    const keys = Array.from({ length: 60 }, (_, i) => `key-${i % 17}`);
    const positions = await producer.send('t', keys.map((key, i) => ({ key, value: `v${i}` })));
    const next = new Map<number, number>();
    positions.forEach((pos, i) => {
      expect(pos.partition).toBe(partitionForKey(Buffer.from(keys[i]), 3));
      expect(pos.offset).toBe(next.get(pos.partition) ?? 0);
      next.set(pos.partition, pos.offset + 1);
    });
    expect(await (await log.admin()).endOffsets('t')).toEqual(new Map([0, 1, 2].map((p) => [p, next.get(p) ?? 0])));
    // Explicit partitions and null keys (round robin) too.
    expect(await producer.send('t', [{ key: null, value: 'a', partition: 2 }])).toEqual([{ partition: 2, offset: next.get(2) }]);
    const unkeyed = await producer.send('t', [1, 2, 3].map(() => ({ key: null, value: 'x' })));
    expect(new Set(unkeyed.map((p) => p.partition)).size).toBe(3);
    await expect(producer.send('t', [{ key: null, value: 'x', partition: 3 }])).rejects.toThrow(/partitions 0-2/);
    await expect(producer.send('nope', [{ key: null, value: 'x' }])).rejects.toBeInstanceOf(UnknownTopicError);
  });

  it('keeps the order of concurrent sends to one partition', async () => {
    const log = await open(dir);
    await (await log.admin()).ensureTopic('t', 1);
    const producer = await log.producer();
    const sends = await Promise.all(Array.from({ length: 50 }, (_, i) => producer.send('t', [{ key: 'k', value: String(i) }])));
    expect(sends.map((s) => s[0].offset)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('checks partition counts and topic names', async () => {
    const admin = await (await open()).admin();
    await admin.ensureTopic('t', 2);
    await admin.ensureTopic('t', 2);
    await expect(admin.ensureTopic('t', 3)).rejects.toThrow(/exists with 2 partitions/);
    await expect(admin.ensureTopic('bad/name', 1)).rejects.toThrow(/invalid topic name/);
    await expect(admin.ensureTopic('u', 0)).rejects.toThrow(/partitions must be/);
  });

  it('delivers every record once, in offset order, from the start offsets, and wakes on append', async () => {
    const log = await open();
    await (await log.admin()).ensureTopic('t', 2);
    const producer = await log.producer();
    await producer.send('t', Array.from({ length: 30 }, (_, i) => ({ key: null, value: `a${i}`, partition: i % 2 })));
    const c = collector('g', ['t'], new Map([['t:1', 5]]));
    const consumer = log.consumer('test');
    await consumer.start(c.options);
    await waitFor(() => c.received.length === 25, '25 records');
    await producer.send('t', [{ key: null, value: 'late', partition: 1 }]);
    await waitFor(() => c.received.length === 26, 'the appended record');
    await consumer.stop();
    for (const tp of ['t:0', 't:1']) {
      const offsets = c.received.filter((r) => r.tp === tp).map((r) => r.offset);
      const first = tp === 't:1' ? 5 : 0;
      expect(offsets).toEqual(Array.from({ length: offsets.length }, (_, i) => first + i));
    }
    expect(c.batches.every((b) => b.records.length <= 7)).toBe(true);
    expect(c.batches.at(-1)!.highWatermark).toBe(16);
    expect(c.startCalls).toEqual([[{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]]);
  });

  it('re-reads a partition from its start offset after a failed batch, skipping nothing', async () => {
    const log = await open();
    await (await log.admin()).ensureTopic('t', 1);
    const producer = await log.producer();
    await producer.send('t', Array.from({ length: 20 }, (_, i) => ({ key: null, value: String(i), partition: 0 })));
    let committed = 0;
    let failOnce = true;
    const seen: number[] = [];
    const consumer = log.consumer();
    await consumer.start({
      groupId: 'g',
      topics: ['t'],
      maxBatchRecords: 5,
      startOffsets: async (assigned) => new Map(assigned.map((tp) => [partitionKey(tp), committed])),
      eachBatch: async (batch) => {
        if (batch.records[0].offset === 10 && failOnce) {
          failOnce = false;
          throw new Error('store unavailable');
        }
        seen.push(...batch.records.map((r) => r.offset));
        committed = batch.records.at(-1)!.offset + 1;
      },
    });
    await waitFor(() => committed === 20, 'all records');
    await consumer.stop();
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('reloads a failed partition when its backoff ends while the loop decides how long to sleep', async () => {
    // A clock that jumps 60 ms per reading after the failure: the backoff (100 ms) ends between
    // the loop's check for partitions to reload and its choice of how long to sleep, and no
    // further append comes to wake it.
    const realNow = Date.now.bind(Date);
    let clock: number | undefined;
    const now = jest.spyOn(Date, 'now').mockImplementation(() => (clock === undefined ? realNow() : (clock += 60)));
    try {
      const log = await open();
      await (await log.admin()).ensureTopic('t', 1);
      const producer = await log.producer();
      await producer.send('t', Array.from({ length: 4 }, (_, i) => ({ key: null, value: String(i), partition: 0 })));
      let committed = 0;
      const consumer = log.consumer();
      await consumer.start({
        groupId: 'g',
        topics: ['t'],
        startOffsets: async (assigned) => new Map(assigned.map((tp) => [partitionKey(tp), committed])),
        eachBatch: async (batch) => {
          if (clock === undefined) {
            clock = realNow();
            throw new Error('store unavailable');
          }
          committed = batch.records.at(-1)!.offset + 1;
        },
      });
      for (let polls = 0; committed < 4 && polls < 400; polls++) await new Promise((resolve) => setTimeout(resolve, 5));
      await consumer.stop();
      expect(committed).toBe(4);
    } finally {
      now.mockRestore();
    }
  });

  it('shares partitions in a group (range assignment) and rebalances as members join and leave', async () => {
    const log = await open();
    await (await log.admin()).ensureTopic('t', 4);
    const producer = await log.producer();
    const send = (n: number) => producer.send('t', Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: String(i) })));
    await send(100);

    // Offsets committed by whichever member processed a batch: a shared store, like the
    // speed layer's table.
    const store = new Map<string, number>();
    const concurrent = new Map<string, number>();
    const processed: { member: string; tp: string; offset: number }[] = [];
    const member = (name: string): { consumer: LogConsumer; start: () => Promise<void> } => {
      const consumer = log.consumer(name);
      return {
        consumer,
        start: () =>
          consumer.start({
            groupId: 'shared',
            topics: ['t'],
            maxBatchRecords: 3,
            startOffsets: async (assigned) => new Map(assigned.map((tp) => [partitionKey(tp), store.get(partitionKey(tp)) ?? 0])),
            eachBatch: async (batch) => {
              const tp = partitionKey(batch);
              concurrent.set(tp, (concurrent.get(tp) ?? 0) + 1);
              expect(concurrent.get(tp)).toBe(1); // never two members on one partition
              await new Promise((resolve) => setTimeout(resolve, 1));
              for (const r of batch.records) processed.push({ member: name, tp, offset: r.offset });
              store.set(tp, batch.records.at(-1)!.offset + 1);
              concurrent.set(tp, concurrent.get(tp)! - 1);
            },
          }),
      };
    };
    const a = member('a');
    const b = member('b');
    await a.start();
    expect(a.consumer.assignment().map((tp) => tp.partition)).toEqual([0, 1, 2, 3]);
    await b.start();
    expect(a.consumer.assignment().map((tp) => tp.partition)).toEqual([0, 1]);
    expect(b.consumer.assignment().map((tp) => tp.partition)).toEqual([2, 3]);
    const endsAtJoin = await (await log.admin()).endOffsets('t');
    await send(100);
    const total = async () => [...(await (await log.admin()).endOffsets('t')).values()].reduce((x, y) => x + y, 0);
    await waitFor(() => processed.length === 200, 'both halves');
    // After the rebalance, a no longer receives partitions 2 and 3.
    const laterOnBsPartitions = processed.filter((p) => ['t:2', 't:3'].includes(p.tp) && p.offset >= endsAtJoin.get(Number(p.tp.slice(2)))!);
    expect(laterOnBsPartitions.length).toBeGreaterThan(0);
    expect(laterOnBsPartitions.every((p) => p.member === 'b')).toBe(true);

    await a.consumer.stop();
    expect(b.consumer.assignment().map((tp) => tp.partition)).toEqual([0, 1, 2, 3]);
    await send(50);
    await waitFor(() => processed.length === 250, 'records after a left');
    await b.consumer.stop();

    expect(await total()).toBe(250);
    // Exactly once per offset, across members and rebalances.
    const ids = processed.map((p) => `${p.tp}@${p.offset}`);
    expect(new Set(ids).size).toBe(250);
  });

  it('survives a restart with the same records and offsets, and cuts off a torn last write', async () => {
    const first = await open(dir);
    await (await first.admin()).ensureTopic('t', 2);
    const producer = await first.producer();
    const sent = await producer.send('t', Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, headers: { h: `x${i}` }, timestamp: 1000 + i })));
    await first.close();

    // A crash in the middle of a write leaves a partial frame at the end of a segment.
    const segment = path.join(dir, 't', '0.log');
    const size = statSync(segment).size;
    appendFileSync(segment, Buffer.from([0, 0, 0, 200, 1, 2, 3]));

    const second = await open(dir);
    expect(await (await second.admin()).endOffsets('t')).toEqual(
      new Map([0, 1].map((p) => [p, sent.filter((s) => s.partition === p).length])),
    );
    expect(statSync(segment).size).toBe(size);
    const c = collector('g', ['t']);
    const consumer = second.consumer();
    await consumer.start(c.options);
    await waitFor(() => c.received.length === 40, 'reloaded records');
    await consumer.stop();
    const batch = c.batches.find((b) => b.records.length > 0)!;
    const record = batch.records[0];
    const index = sent.findIndex((s) => s.partition === record.partition && s.offset === record.offset);
    expect(record).toMatchObject({ key: Buffer.from(`k${index}`), value: Buffer.from(`v${index}`), headers: { h: `x${index}` }, timestamp: 1000 + index });
    // Appends continue after the reloaded offsets.
    const [next] = await (await second.producer()).send('t', [{ key: null, value: 'after', partition: 0 }]);
    expect(next.offset).toBe(sent.filter((s) => s.partition === 0).length);
  });

  it('refuses a second open of a directory in use, and takes over the lock of a process that died', async () => {
    const first = await open(dir);
    await expect(EmbeddedLog.open({ directory: dir, logger: quiet })).rejects.toThrow(/in use by process/);
    await first.close();
    await open(dir).then((log) => log.close());

    writeFileSync(path.join(dir, 'LOCK'), '1'); // pid 1 is alive and not us
    await expect(EmbeddedLog.open({ directory: dir, logger: quiet })).rejects.toThrow(/in use by process 1/);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // a process that has exited
    writeFileSync(path.join(dir, 'LOCK'), String(dead));
    await expect(open(dir)).resolves.toBeDefined();
  });
});
