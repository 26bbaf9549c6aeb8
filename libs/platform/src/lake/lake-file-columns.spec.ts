import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Type } from '@sinclair/typebox';
import { defineStream, type HttpRequestEvent, httpRequests, parseApacheLogLine } from '@tandem/contracts';
import { encodeLakeFile, type LakeFileInfo, type LakeRecord, readLakeFile } from './lake-file';
import { readLakeFileColumns, visitLakeEvents } from './lake-file-columns';
import { readLakeEntryColumns } from './lake-records';
import { LocalLakeStorage } from './local-lake-storage';
import { oddEvents } from './testing/odd-events';
import { entryForFile, ManifestError, summarizeRecords } from './manifest-entry';

const LOG = path.resolve(__dirname, '../../../../data/apache-access-log/apache_logs');

const info = (stream: string, records: readonly LakeRecord[], partition = 0): LakeFileInfo => ({
  stream,
  streamVersion: 1,
  topic: `tandem.${stream}.v1`,
  partition,
  fromOffset: records[0].offset,
  nextOffset: records[records.length - 1].offset + 1,
  skipped: 0,
});

/** Every (offset, event) a visit yields, events copied (the visit reuses one object). */
async function visited<E>(contract: Parameters<typeof readLakeFileColumns>[0], bytes: Uint8Array) {
  const file = await readLakeFileColumns(contract, bytes);
  const out: { offset: number; event: E }[] = [];
  visitLakeEvents<E>(contract, file, (offset, event) => out.push({ offset, event: { ...event } }));
  return { file, out };
}

const odd = oddEvents;

describe('reading lake files column by column', () => {
  it('gives the events and offsets readLakeFile gives, for 2,000 real access-log events', async () => {
    const records: LakeRecord<HttpRequestEvent>[] = [];
    for (const line of readFileSync(LOG, 'utf8').split('\n')) {
      if (records.length === 2_000) break;
      const parsed = parseApacheLogLine(line);
      if (parsed.ok) records.push({ partition: 3, offset: 7 + records.length * 3, logTime: 1_700_000_000_000, key: parsed.event.ip, event: parsed.event });
    }
    const bytes = encodeLakeFile(httpRequests, info('http_requests', records, 3), records);
    const { file, out } = await visited<HttpRequestEvent>(httpRequests, bytes);
    expect(file.partition).toBe(3);
    expect(file.rows).toBe(2_000);
    const expected = await readLakeFile<HttpRequestEvent>(httpRequests, bytes);
    expect(out).toEqual(expected.map((r) => ({ offset: r.offset, event: r.event })));
    // INT64 event columns come back as numbers, as readLakeFile gives them.
    expect(typeof out[0].event.ts).toBe('number');
  });

  it('reuses one event object from record to record', async () => {
    const records: LakeRecord[] = [0, 1, 2].map((i) => ({ partition: 0, offset: i, logTime: 0, key: null, event: { id: i, score: i, ok: true, note: `${i}`, tags: [], extra: { a: '', b: i } } }));
    const file = await readLakeFileColumns(odd, encodeLakeFile(odd, info('odd_events', records), records));
    const seen: unknown[] = [];
    visitLakeEvents(odd, file, (_offset, event) => seen.push(event));
    expect(new Set(seen).size).toBe(1);
  });

  it('leaves absent optional fields out, parses JSON columns and keeps negative 64-bit integers exact', async () => {
    const records: LakeRecord[] = [
      { partition: 2, offset: 10, logTime: 5, key: null, event: { id: 1, score: 0.1, ok: true, tags: ['x'], extra: { b: 2, a: 'é' } } },
      { partition: 2, offset: 11, logTime: 6, key: 'k', event: { id: -(2 ** 40) - 3, score: -1e300, ok: false, note: 'n', tags: [], extra: { a: '', b: 0 } } },
      { partition: 2, offset: 12, logTime: 7, key: 'k', event: { id: 2 ** 53 - 1, score: 0, ok: true, tags: ['a', 'b'], extra: { a: 'z', b: -1 } } },
    ];
    const bytes = encodeLakeFile(odd, info('odd_events', records, 2), records);
    const { out } = await visited(odd, bytes);
    expect(out).toEqual(records.map((r) => ({ offset: r.offset, event: r.event })));
    expect('note' in (out[0].event as object)).toBe(false);
  });

  it('reads files of several row groups', async () => {
    const counters = defineStream({ name: 'counters', version: 1, schema: Type.Object({ n: Type.Integer() }), key: () => 'k', eventTime: (e) => e.n });
    const records: LakeRecord[] = Array.from({ length: 100_500 }, (_, i) => ({ partition: 0, offset: 1_000 + i, logTime: 0, key: null, event: { n: i * 7 } }));
    const { file, out } = await visited<{ n: number }>(counters, encodeLakeFile(counters, info('counters', records), records));
    expect(file.rows).toBe(records.length);
    expect(out.length).toBe(records.length);
    expect(out.every((r, i) => r.offset === 1_000 + i && r.event.n === i * 7)).toBe(true);
  });

  it('refuses a value beyond 2^53 and a null in a required field', async () => {
    const wide = defineStream({ name: 'wide', version: 1, schema: Type.Object({ n: Type.Integer() }), key: () => 'k', eventTime: () => 0 });
    const big: LakeRecord[] = [{ partition: 0, offset: 0, logTime: 0, key: null, event: { n: 2 ** 60 } }];
    await expect(readLakeFileColumns(wide, encodeLakeFile(wide, info('wide', big), big))).rejects.toThrow(/beyond 2\^53/);

    // Written while the field was optional, read by a contract that requires it.
    const loose = defineStream({ name: 'wide', version: 1, schema: Type.Object({ n: Type.Optional(Type.Integer()) }), key: () => 'k', eventTime: () => 0 });
    const holes: LakeRecord[] = [{ partition: 0, offset: 0, logTime: 0, key: null, event: {} }];
    const file = await readLakeFileColumns(wide, encodeLakeFile(loose, info('wide', holes), holes));
    expect(() => visitLakeEvents(wide, file, () => undefined)).toThrow(/required column n is null at offset 0/);
  });

  describe('readLakeEntryColumns', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'tandem-lake-columns-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('checks the file against its manifest entry', async () => {
      const lake = new LocalLakeStorage(dir);
      const records: LakeRecord[] = [0, 1].map((i) => ({ partition: 1, offset: i, logTime: 0, key: null, event: { id: i, score: 1, ok: true, tags: [], extra: { a: '', b: 0 } } }));
      const fileInfo = info('odd_events', records, 1);
      const bytes = encodeLakeFile(odd, fileInfo, records);
      await lake.put('f.parquet', bytes);
      const entry = entryForFile(fileInfo, summarizeRecords(odd, records), { path: 'f.parquet', bytes }, new Date());
      expect((await readLakeEntryColumns(lake, odd, entry))?.rows).toBe(2);
      await expect(readLakeEntryColumns(lake, odd, { ...entry, rows: 3 })).rejects.toThrow(ManifestError);
      await expect(readLakeEntryColumns(lake, odd, { ...entry, partition: 0 })).rejects.toThrow(/holds partition 1/);
      await lake.put('f.parquet', encodeLakeFile(odd, fileInfo, records.slice(0, 1)));
      await expect(readLakeEntryColumns(lake, odd, entry)).rejects.toThrow(/does not match its manifest entry/);
    });
  });
});
