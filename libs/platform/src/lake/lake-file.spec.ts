import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Type } from '@sinclair/typebox';
import { defineStream, flights, type HttpRequestEvent, httpRequests, parseApacheLogLine } from '@tandem/contracts';
import { parquetMetadata } from 'hyparquet';
import { lakeColumnsOf, LakeSchemaError } from './lake-columns';
import { encodeLakeFile, type LakeFileInfo, lakeFileInfo, type LakeRecord, readLakeFile, readLakeFileRows } from './lake-file';
import { RecordsChecksum } from './records-checksum';
import { oddEvents } from './testing/odd-events';

const LOG = path.resolve(__dirname, '../../../../data/apache-access-log/apache_logs');

/** The first `n` lines of the real access log that parse, as partition-0 lake records. */
function accessLogRecords(n: number): LakeRecord<HttpRequestEvent>[] {
  const records: LakeRecord<HttpRequestEvent>[] = [];
  let offset = 0;
  for (const line of readFileSync(LOG, 'utf8').split('\n')) {
    if (records.length === n) break;
    const parsed = parseApacheLogLine(line);
    offset++; // lines that do not parse leave gaps in the offsets, like skipped records
    if (!parsed.ok) continue;
    records.push({ partition: 0, offset: offset * 2, logTime: 1_700_000_000_000 + offset, key: parsed.event.ip, event: parsed.event });
  }
  return records;
}

const info = (records: readonly LakeRecord[]): LakeFileInfo => ({
  stream: 'http_requests',
  streamVersion: 1,
  topic: 'tandem.http_requests.v1',
  partition: 0,
  fromOffset: 0,
  nextOffset: records[records.length - 1].offset + 1,
  skipped: 3,
});

describe('lake data files', () => {
  const records = accessLogRecords(2_000);

  it('derives typed columns from the contract schema', () => {
    expect(lakeColumnsOf(httpRequests).map((c) => `${c.name}:${c.type}${c.nullable ? '?' : ''}`)).toEqual([
      'partition:INT32',
      'offset:INT64',
      'log_time:INT64',
      'key:STRING?',
      'ts:INT64',
      'ip:STRING',
      'method:STRING',
      'path:STRING',
      'query:STRING',
      'protocol:STRING',
      'status:INT32',
      'bytes:INT64',
      'referrer:STRING',
      'userAgent:STRING',
    ]);
    expect(lakeColumnsOf(flights).slice(4).map((c) => `${c.name}:${c.type}`)).toEqual([
      'ts:INT64',
      'delay:INT32',
      'distance:INT32',
      'origin:STRING',
      'destination:STRING',
    ]);
  });

  it('round-trips 2,000 real access-log events exactly', async () => {
    const bytes = encodeLakeFile(httpRequests, info(records), records);
    const back = await readLakeFile<HttpRequestEvent>(httpRequests, bytes);
    expect(back).toEqual(records);
    const sum = (rs: readonly LakeRecord[]) => rs.reduce((c, r) => c.add(r.partition, r.offset, r.event), new RecordsChecksum()).toString();
    expect(sum(back)).toBe(sum(records));
  });

  it('writes byte-identical files for the same records (no clock, no random id)', async () => {
    const first = encodeLakeFile(httpRequests, info(records), records);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const copies = records.map((r) => ({ ...r, event: { ...r.event } }));
    const second = encodeLakeFile(httpRequests, info(copies), copies);
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true);
    // ...and different bytes for different records.
    const third = encodeLakeFile(httpRequests, info(records.slice(1)), records.slice(1));
    expect(Buffer.from(third).equals(Buffer.from(first))).toBe(false);
  });

  it('stores the range metadata and typed Parquet columns in the file', () => {
    const bytes = encodeLakeFile(httpRequests, info(records), records);
    expect(lakeFileInfo(bytes)).toEqual(info(records));
    const metadata = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    expect(Number(metadata.num_rows)).toBe(records.length);
    const byName = new Map(metadata.schema.map((e) => [e.name, e]));
    expect(byName.get('offset')).toMatchObject({ type: 'INT64', repetition_type: 'REQUIRED' });
    expect(byName.get('status')).toMatchObject({ type: 'INT32' });
    expect(byName.get('userAgent')).toMatchObject({ type: 'BYTE_ARRAY', converted_type: 'UTF8' });
    expect(byName.get('key')).toMatchObject({ repetition_type: 'OPTIONAL' });
  });

  it('reads rows as plain objects with numbers for INT64 columns', async () => {
    const bytes = encodeLakeFile(httpRequests, info(records), records.slice(0, 3));
    const rows = await readLakeFileRows(bytes);
    expect(rows[0]).toEqual({ partition: 0, offset: records[0].offset, log_time: records[0].logTime, key: records[0].key, ...records[0].event });
    expect(typeof rows[0]['ts']).toBe('number');
  });

  it('stores optional fields as nulls and anything else as canonical JSON', async () => {
    const odd = oddEvents;
    expect(lakeColumnsOf(odd).slice(4).map((c) => `${c.name}:${c.type}${c.nullable ? '?' : ''}`)).toEqual([
      'id:INT64',
      'score:DOUBLE',
      'ok:BOOLEAN',
      'note:STRING?',
      'tags:JSON',
      'extra:JSON',
    ]);
    const rs: LakeRecord[] = [
      { partition: 2, offset: 10, logTime: 5, key: null, event: { id: 1, score: 0.1, ok: true, tags: ['x'], extra: { b: 2, a: 'é' } } },
      { partition: 2, offset: 11, logTime: 6, key: 'k', event: { id: -(2 ** 40), score: -1e300, ok: false, note: 'n', tags: [], extra: { a: '', b: 0 } } },
    ];
    const bytes = encodeLakeFile(odd, { ...info(rs), stream: 'odd_events', partition: 2 }, rs);
    expect(await readLakeFile(odd, bytes)).toEqual(rs);
  });

  it('refuses a schema whose field collides with a record column', () => {
    const clash = defineStream({
      name: 'clash',
      version: 1,
      schema: Type.Object({ offset: Type.Integer() }),
      key: () => 'k',
      eventTime: () => 0,
    });
    expect(() => lakeColumnsOf(clash)).toThrow(LakeSchemaError);
  });

  it('refuses records out of offset order or of another partition', () => {
    expect(() => encodeLakeFile(httpRequests, info(records), [records[1], records[0]])).toThrow(/not increasing/);
    expect(() => encodeLakeFile(httpRequests, info(records), [{ ...records[0], partition: 1 }])).toThrow(/partition 1/);
  });
});
