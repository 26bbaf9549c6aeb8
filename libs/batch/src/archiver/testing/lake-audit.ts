// Test helpers: reads a whole topic back through the log port, and compares the lake with it.
import { randomBytes } from 'node:crypto';
import { decodeEvent, type StreamContract } from '@tandem/contracts';
import {
  LakeManifest,
  type LakeStorage,
  type Log,
  type LogRecord,
  parseDataFilePath,
  partitionKey,
  readLakeRecords,
  RecordsChecksum,
} from '@tandem/platform';
import type { AnyStreamContract } from '../archiver-options';

/** Every record of a topic, read with a throwaway consumer group from offset 0 to the end offsets. */
export async function readWholeTopic(log: Log, topic: string, timeoutMs = 60_000): Promise<LogRecord[]> {
  const admin = await log.admin();
  const ends = await admin.endOffsets(topic);
  const total = [...ends.values()].reduce((a, b) => a + b, 0);
  const seen = new Map<string, LogRecord>();
  const consumer = log.consumer('lake-audit');
  let done: () => void = () => undefined;
  const complete = new Promise<void>((resolve) => (done = resolve));
  await consumer.start({
    groupId: `lake-audit-${randomBytes(6).toString('hex')}`,
    topics: [topic],
    startOffsets: async (assigned) => new Map(assigned.map((tp) => [partitionKey(tp), 0])),
    eachBatch: async (batch) => {
      for (const r of batch.records) if (r.offset < (ends.get(r.partition) ?? 0)) seen.set(`${r.partition}:${r.offset}`, r);
      if (seen.size >= total) done();
    },
  });
  if (total === 0) done();
  const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`read ${seen.size} of ${total} records of ${topic}`)), timeoutMs).unref());
  try {
    await Promise.race([complete, timer]);
  } finally {
    await consumer.stop();
  }
  return [...seen.values()].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

export interface LakeAudit {
  readonly logRecords: number;
  readonly validRecords: number;
  readonly lakeRecords: number;
  readonly logChecksum: string;
  readonly lakeChecksum: string;
  readonly duplicateOffsets: number;
  /** Per partition, the manifest's coverage. */
  readonly coveredUntil: ReadonlyMap<number, number>;
  /** Per partition, the log's end offset. */
  readonly endOffsets: ReadonlyMap<number, number>;
  /** Data files that no manifest chain entry names. */
  readonly unlistedFiles: readonly string[];
  /** Sum of the manifest entries' records checksums (must equal lakeChecksum). */
  readonly manifestChecksum: string;
  readonly manifestRows: number;
  readonly manifestSkipped: number;
}

/** Compares the lake's records of a stream with the valid records of its topic. */
export async function auditLake(storage: LakeStorage, contract: AnyStreamContract, log: Log, topic: string): Promise<LakeAudit> {
  const records = await readWholeTopic(log, topic);
  const expected = new RecordsChecksum();
  for (const r of records) {
    const decoded = decodeEvent(contract as unknown as StreamContract, r.value);
    if (decoded.ok) expected.add(r.partition, r.offset, decoded.value);
  }
  const entries = await new LakeManifest(storage).load(contract.name);
  const lake = new RecordsChecksum();
  const offsets = new Set<string>();
  let duplicates = 0;
  for await (const r of readLakeRecords(storage, contract, entries)) {
    const id = `${r.partition}:${r.offset}`;
    if (offsets.has(id)) duplicates++;
    offsets.add(id);
    lake.add(r.partition, r.offset, r.event);
  }
  const manifest = new RecordsChecksum();
  for (const e of entries) manifest.merge(e.recordsChecksum, e.rows);
  const named = new Set(entries.map((e) => e.file));
  const files = (await storage.list(`${contract.name}/`)).filter((p) => parseDataFilePath(p) !== undefined);
  const coveredUntil = await new LakeManifest(storage).coveredUntil(contract.name);
  return {
    logRecords: records.length,
    validRecords: expected.records,
    lakeRecords: lake.records,
    logChecksum: expected.toString(),
    lakeChecksum: lake.toString(),
    duplicateOffsets: duplicates,
    coveredUntil,
    endOffsets: await (await log.admin()).endOffsets(topic),
    unlistedFiles: files.filter((f) => !named.has(f)),
    manifestChecksum: manifest.toString(),
    manifestRows: entries.reduce((n, e) => n + e.rows, 0),
    manifestSkipped: entries.reduce((n, e) => n + e.skipped, 0),
  };
}

/** Asserts, with Jest, that the lake holds exactly the valid records of the topic. */
export function expectExactLake(audit: LakeAudit, expectedInvalid: number): void {
  expect(audit.validRecords).toBe(audit.logRecords - expectedInvalid);
  expect(audit.lakeRecords).toBe(audit.validRecords);
  expect(audit.lakeChecksum).toBe(audit.logChecksum);
  expect(audit.duplicateOffsets).toBe(0);
  expect(audit.manifestRows).toBe(audit.validRecords);
  expect(audit.manifestChecksum).toBe(audit.logChecksum);
  expect(audit.manifestSkipped).toBe(expectedInvalid);
  expect(audit.unlistedFiles).toEqual([]);
  for (const [partition, end] of audit.endOffsets) if (end > 0) expect({ partition, covered: audit.coveredUntil.get(partition) }).toEqual({ partition, covered: end });
}
