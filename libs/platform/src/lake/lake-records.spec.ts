import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Type } from '@sinclair/typebox';
import { defineStream } from '@tandem/contracts';
import { encodeLakeFile, type LakeRecord } from './lake-file';
import { LakeManifest } from './lake-manifest';
import { dataFilePath } from './lake-paths';
import { readLakeRecords } from './lake-records';
import { LocalLakeStorage } from './local-lake-storage';
import { entryForFile, ManifestError, summarizeRecords } from './manifest-entry';

const counters = defineStream({
  name: 'counters',
  version: 1,
  schema: Type.Object({ n: Type.Integer(), at: Type.Integer() }),
  key: (e) => String(e.n),
  eventTime: (e) => e.at,
});

describe('readLakeRecords', () => {
  let dir: string;
  let lake: LocalLakeStorage;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tandem-lake-records-'));
    lake = new LocalLakeStorage(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Archives offsets [from, next) of a partition as one file, every offset a record. */
  async function archive(partition: number, from: number, next: number): Promise<void> {
    const records: LakeRecord[] = [];
    for (let o = from; o < next; o++) records.push({ partition, offset: o, logTime: 86_400_000 + o, key: null, event: { n: o, at: o * 10 } });
    const info = { stream: 'counters', streamVersion: 1, topic: 'tandem.counters.v1', partition, fromOffset: from, nextOffset: next, skipped: 0 };
    const bytes = encodeLakeFile(counters, info, records);
    const file = dataFilePath({ stream: 'counters', partition, firstOffset: from, lastOffset: next - 1 }, records[0].logTime);
    await lake.put(file, bytes);
    await new LakeManifest(lake).append(entryForFile(info, summarizeRecords(counters, records), { path: file, bytes }, new Date()));
  }

  it('yields the records of the requested offset ranges, file by file, in offset order', async () => {
    await archive(0, 0, 10);
    await archive(0, 10, 20);
    await archive(1, 0, 5);
    const entries = await new LakeManifest(lake).load('counters');
    expect(entries.map((e) => [e.partition, e.firstOffset, e.lastOffset, e.minEventTime])).toEqual([
      [0, 0, 9, 0],
      [0, 10, 19, 100],
      [1, 0, 4, 0],
    ]);
    expect(entries[0].file).toBe('counters/date=1970-01-02/counters-p0-00000000000000000000-00000000000000000009.parquet');

    const read = async (ranges?: Map<number, { fromOffset: number; toOffset: number }>) => {
      const out: string[] = [];
      for await (const r of readLakeRecords(lake, counters, entries, { ranges })) out.push(`${r.partition}:${r.offset}:${(r.event as { n: number }).n}`);
      return out;
    };
    expect(await read()).toHaveLength(25);
    expect(await read(new Map([[0, { fromOffset: 8, toOffset: 12 }]]))).toEqual(['0:8:8', '0:9:9', '0:10:10', '0:11:11']);
    expect(await read(new Map([[1, { fromOffset: 3, toOffset: 100 }], [0, { fromOffset: 20, toOffset: 30 }]]))).toEqual(['1:3:3', '1:4:4']);
  });

  it('refuses a file that changed after it was archived', async () => {
    await archive(0, 0, 10);
    const [entry] = await new LakeManifest(lake).load('counters');
    const other: LakeRecord[] = [{ partition: 0, offset: 0, logTime: 0, key: null, event: { n: 99, at: 0 } }];
    await lake.put(entry.file!, encodeLakeFile(counters, { stream: 'counters', streamVersion: 1, topic: 't', partition: 0, fromOffset: 0, nextOffset: 1, skipped: 0 }, other));
    const reading = async () => {
      for await (const _ of readLakeRecords(lake, counters, [entry])) void _;
    };
    await expect(reading()).rejects.toThrow(ManifestError);
    await expect(reading()).rejects.toThrow(/does not match its manifest entry/);
  });
});
