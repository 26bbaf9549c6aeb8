import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { httpRequests } from '@tandem/contracts';
import { EmbeddedLog, LakeManifest, LocalLakeStorage, manifestEntryPath } from '@tandem/platform';
import { Registry } from 'prom-client';
import { type Archiver, createArchiver } from './archiver';
import type { ArchiverOptions } from './archiver-options';
import { accessLogEvents, produceAccessLog } from './testing/access-log';
import { auditLake, expectExactLake } from './testing/lake-audit';

const pad = (offset: number) => String(offset).padStart(20, '0');
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const TOPIC = httpRequests.topic;

async function waitFor(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

jest.setTimeout(60_000);

describe('archiver on the embedded log and a local lake', () => {
  let dir: string;
  let log: EmbeddedLog;
  let lake: LocalLakeStorage;
  const archivers: Archiver[] = [];
  const archiver = (options: Partial<ArchiverOptions> = {}) => {
    const a = createArchiver({ log, storage: lake, streams: [httpRequests], registry: new Registry(), logger: quiet, maxAgeMs: 60_000, ...options });
    archivers.push(a);
    return a;
  };
  const coverage = async () => [...(await new LakeManifest(lake).coveredUntil('http_requests')).values()].reduce((a, b) => a + b, 0);
  /** Whether the archivers, together, have consumed every partition to its end. */
  const caughtUp = async (...members: Archiver[]) => {
    const ends = await (await log.admin()).endOffsets(TOPIC);
    const parts = members.flatMap((m) => m.status().partitions);
    return [...ends].every(([p, end]) => parts.some((s) => s.partition === p && s.consumedUntil >= end));
  };
  const logEnd = async () => [...(await (await log.admin()).endOffsets(TOPIC)).values()].reduce((a, b) => a + b, 0);

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tandem-archiver-'));
    log = await EmbeddedLog.open({ logger: quiet });
    lake = new LocalLakeStorage(path.join(dir, 'lake'));
    await (await log.admin()).ensureTopic(TOPIC, 4);
  });
  afterEach(async () => {
    await Promise.all(archivers.splice(0).map((a) => a.stop()));
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('archives the access log (9,999 events of its 10,000 lines) exactly, skipping and counting invalid records', async () => {
    const events = accessLogEvents();
    expect(events.length).toBe(9_999); // one line of the file is truncated
    const invalid = await produceAccessLog(log, TOPIC, events);
    const registry = new Registry();
    const a = archiver({ maxRecords: 1_000, registry });
    await a.start();
    await waitFor(() => caughtUp(a), 'the archiver to read everything');
    await a.stop(); // flushes the rest
    const audit = await auditLake(lake, httpRequests, log, TOPIC);
    expectExactLake(audit, invalid);
    expect(invalid).toBeGreaterThan(0);

    // Files are cut every 1,000 consumed records of a partition, named by their range.
    const entries = await new LakeManifest(lake).load('http_requests');
    expect(entries.every((e) => e.rows + e.skipped <= 1_000)).toBe(true);
    expect(entries.filter((e) => e.rows + e.skipped === 1_000).length).toBeGreaterThanOrEqual(8);
    for (const e of entries) {
        // Dated by the log time of the file's first record (here: when the test produced it).
      const date = new Date(e.minLogTime!).toISOString().slice(0, 10);
      expect(e.file).toBe(`http_requests/date=${date}/http_requests-p${e.partition}-${pad(e.firstOffset)}-${pad(e.lastOffset)}.parquet`);
    }
    const metrics = await registry.getMetricsAsJSON();
    const value = (name: string) => metrics.find((m) => m.name === name)!.values.reduce((n, v) => n + v.value, 0);
    expect(value('tandem_archiver_records_archived_total')).toBe(9_999);
    expect(value('tandem_archiver_records_skipped_total')).toBe(invalid);
    expect(value('tandem_archiver_files_written_total')).toBe(entries.filter((e) => e.rows > 0).length);
  });

  it('resumes from the manifest after a restart: nothing read twice into the lake, nothing missed', async () => {
    const events = accessLogEvents(3_000);
    let invalid = await produceAccessLog(log, TOPIC, events.slice(0, 2_000));
    const first = archiver({ maxRecords: 300 });
    await first.start();
    await waitFor(async () => (await coverage()) >= 1_200, 'some files');
    await first.stop();
    const before = await new LakeManifest(lake).load('http_requests');

    invalid += await produceAccessLog(log, TOPIC, events.slice(2_000));
    const second = archiver({ maxRecords: 300 });
    await second.start();
    await waitFor(() => second.status().partitions.length === 4, 'assignment');
    expect(second.status().partitions.map((p) => p.archivedUntil)).toEqual(
      [0, 1, 2, 3].map((p) => before.filter((e) => e.partition === p).at(-1)?.nextOffset ?? 0),
    );
    await waitFor(() => caughtUp(second), 'the rest');
    await second.stop();
    const after = await new LakeManifest(lake).load('http_requests');
    expect(after.filter((e) => before.some((b) => b.file === e.file)).map((e) => e.file)).toEqual(before.map((e) => e.file)); // append-only
    expectExactLake(await auditLake(lake, httpRequests, log, TOPIC), invalid);
  });

  it('flushes a partition when its oldest record reaches maxAgeMs', async () => {
    const invalid = await produceAccessLog(log, TOPIC, accessLogEvents(40), 40);
    const a = archiver({ maxRecords: 50_000, maxAgeMs: 300 });
    await a.start();
    await waitFor(async () => (await coverage()) === (await logEnd()), 'time-based flushes', 10_000);
    await waitFor(() => a.status().partitions.every((p) => p.buffered === 0 && p.lag === 0), 'an empty buffer');
    expectExactLake(await auditLake(lake, httpRequests, log, TOPIC), invalid);
  });

  it('records on restart a data file whose manifest entry a crash prevented, rewriting nothing', async () => {
    const invalid = await produceAccessLog(log, TOPIC, accessLogEvents(1_200));
    const first = archiver({ maxRecords: 200 });
    await first.start();
    await waitFor(() => caughtUp(first), 'the archiver to read everything');
    await first.stop();
    const manifest = new LakeManifest(lake);
    const entries = await manifest.load('http_requests');
    // The crash: the last file of partition 0 is written, its entry is not.
    const lost = entries.filter((e) => e.partition === 0 && e.rows > 0).at(-1)!;
    await lake.delete(manifestEntryPath(lost));
    const fileBytes = await lake.get(lost.file!);

    const second = archiver({ maxRecords: 200 });
    await second.start();
    await waitFor(() => second.status().partitions.length === 4, 'assignment');
    expect(second.status().partitions.find((p) => p.partition === 0)!.archivedUntil).toBe(lost.nextOffset);
    await second.stop();
    const again = (await new LakeManifest(lake).load('http_requests')).find((e) => e.file === lost.file)!;
    expect({ ...again, writtenAt: '' }).toEqual({ ...lost, writtenAt: '' });
    expect((await lake.get(lost.file!)).equals(fileBytes)).toBe(true);
    expectExactLake(await auditLake(lake, httpRequests, log, TOPIC), invalid);
  });

  it('shares partitions between members of its group and stays exact across the rebalances', async () => {
    const events = accessLogEvents(4_000);
    let invalid = await produceAccessLog(log, TOPIC, events.slice(0, 2_000));
    const a = archiver({ maxRecords: 250, maxBatchRecords: 100 });
    const b = archiver({ maxRecords: 250, maxBatchRecords: 100 });
    await a.start();
    await b.start();
    await waitFor(() => a.status().partitions.length === 2 && b.status().partitions.length === 2, 'assignment');
    expect(a.status().partitions.map((p) => p.partition)).toEqual([0, 1]);
    expect(b.status().partitions.map((p) => p.partition)).toEqual([2, 3]);
    invalid += await produceAccessLog(log, TOPIC, events.slice(2_000));
    await a.stop(); // b takes every partition over, from the manifest
    await waitFor(() => caughtUp(b), 'b to catch up');
    expect(b.status().partitions.map((p) => p.partition)).toEqual([0, 1, 2, 3]);
    await b.stop();
    expectExactLake(await auditLake(lake, httpRequests, log, TOPIC), invalid);
  });

  it('stays exact when two writers archive the same partitions at once (a member that lost its partitions still flushing)', async () => {
    const invalid = await produceAccessLog(log, TOPIC, accessLogEvents(3_000));
    // Two groups on one lake: every partition has two writers, cutting ranges differently.
    const a = archiver({ groupId: 'writer-a', maxRecords: 170, maxBatchRecords: 60 });
    const b = archiver({ groupId: 'writer-b', maxRecords: 110, maxBatchRecords: 50 });
    await Promise.all([a.start(), b.start()]);
    await waitFor(async () => (await caughtUp(a)) && (await caughtUp(b)), 'both writers', 60_000);
    await Promise.all([a.stop(), b.stop()]);
    // Whoever takes the partitions next clears what the race left off the chain.
    const next = archiver({ groupId: 'writer-a' });
    await next.start();
    await waitFor(() => next.status().partitions.length === 4, 'assignment');
    await next.stop();
    const audit = await auditLake(lake, httpRequests, log, TOPIC);
    expectExactLake(audit, invalid);
    const snapshot = await new LakeManifest(lake).snapshot('http_requests');
    expect([...snapshot.partitions.values()].flatMap((c) => [...c.superseded, ...c.detached])).toEqual([]);
  });

  it('refuses bad options, naming each', () => {
    expect(() => createArchiver({ log, storage: lake, streams: [], maxRecords: 0, maxAgeMs: -1 })).toThrow(
      /archiver maxRecords: an integer from 1[\s\S]*archiver maxAgeMs[\s\S]*archiver streams: at least one/,
    );
    expect(() => createArchiver({ log, storage: lake, streams: [httpRequests, httpRequests] })).toThrow(/listed twice/);
  });
});
