// The lake is readable by other engines: DuckDB reads the data files and recomputes, in SQL,
// the records checksum the manifest stores (the recipe of docs/lake.md).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { httpRequests, parseApacheLogLine } from '@tandem/contracts';
import { eventColumnsOf } from './lake-columns';
import { encodeLakeFile, type LakeRecord } from './lake-file';
import { RecordsChecksum } from './records-checksum';

const LOG = path.resolve(__dirname, '../../../../data/apache-access-log/apache_logs');

/** DuckDB SQL for the records checksum of the files matched by `glob` (docs/lake.md). */
function checksumSql(glob: string, fields: readonly string[]): string {
  const event = [...fields].sort().map((f) => `'${f}': "${f}"`).join(', ');
  return `
    SELECT count(*) AS records,
           lpad(printf('%x', sum(h) % 18446744073709551616::HUGEINT), 16, '0') AS checksum
    FROM (
      SELECT ('0x' || left(sha256(partition::VARCHAR || ':' || "offset"::VARCHAR || ':' || to_json({${event}})::VARCHAR), 16))::UBIGINT::HUGEINT AS h
      FROM read_parquet('${glob}')
    )`;
}

describe('lake files in DuckDB', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tandem-duckdb-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads every record of the real access log and recomputes the records checksum', async () => {
    const records: LakeRecord[] = [];
    for (const line of readFileSync(LOG, 'utf8').split('\n')) {
      const parsed = parseApacheLogLine(line);
      if (parsed.ok) records.push({ partition: records.length % 2, offset: records.length, logTime: 1_700_000_000_000 + records.length, key: parsed.event.ip, event: parsed.event });
    }
    const expected = new RecordsChecksum();
    for (const p of [0, 1]) {
      const own = records.filter((r) => r.partition === p);
      const info = { stream: 'http_requests', streamVersion: 1, topic: 't', partition: p, fromOffset: 0, nextOffset: own.at(-1)!.offset + 1, skipped: 0 };
      writeFileSync(path.join(dir, `p${p}.parquet`), encodeLakeFile(httpRequests, info, own));
      for (const r of own) expected.add(r.partition, r.offset, r.event);
    }
    const db = await DuckDBInstance.create(':memory:');
    const connection = await db.connect();
    try {
      const fields = eventColumnsOf(httpRequests).map((c) => c.name);
      const [row] = (await connection.runAndReadAll(checksumSql(`${dir}/*.parquet`, fields))).getRowObjects();
      expect(row).toEqual({ records: 9_999n, checksum: expected.toString() });
      const [first] = (await connection.runAndReadAll(`SELECT * FROM read_parquet('${dir}/p0.parquet') ORDER BY "offset" LIMIT 1`)).getRowObjects();
      expect(first).toEqual({ partition: 0, offset: 0n, log_time: 1_700_000_000_000n, key: records[0].key, ...toDuck(records[0].event as Record<string, unknown>) });
    } finally {
      connection.closeSync();
    }
  });
});

/** The event as DuckDB returns its row: INT64 columns as bigint. */
function toDuck(event: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...event };
  for (const c of eventColumnsOf(httpRequests)) if (c.type === 'INT64') out[c.name] = BigInt(event[c.name] as number);
  return out;
}
