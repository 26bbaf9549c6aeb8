import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { type HttpRequestEvent, parseApacheLogLine } from '@tandem/contracts';
import { type AnyView, canonicalJson, cellId, evaluateView, requestsPerStatusHour, requestsPerUrlMinute, type ViewCell } from '@tandem/transforms';
import { assignShards } from './lake-shards';
import { LakeScan, type ScanTask } from './lake-scan';
import { encodeScan, ScanMerge } from './scan-cells';

// The real access log, as 4 partitions of consecutive offsets cut into files of 700 records.
const events: HttpRequestEvent[] = readFileSync(path.join(__dirname, '../../../../data/apache-access-log/apache_logs'), 'utf8')
  .split('\n')
  .filter((l) => l.length > 0)
  .flatMap((line) => {
    const parsed = parseApacheLogLine(line);
    return parsed.ok ? [parsed.event] : [];
  });
const records = events.map((event, i) => ({ partition: i % 4, offset: Math.floor(i / 4), event }));
const files = [0, 1, 2, 3].flatMap((p) => {
  const mine = records.filter((r) => r.partition === p);
  const out = [];
  for (let i = 0; i < mine.length; i += 700) out.push({ file: `p${p}-${i}`, rows: mine.slice(i, i + 700).length, records: mine.slice(i, i + 700) });
  return out;
});
const views: AnyView[] = [requestsPerUrlMinute, requestsPerStatusHour];
const everything: ScanTask[] = views.map((v) => ({ view: v.name, ranges: [0, 1, 2, 3].map((p) => [p, 0, 10_000] as const), chunks: [] }));

function scanShard(shard: typeof files, tasks: readonly ScanTask[], chunkSize = 1000) {
  const scan = new LakeScan(views, tasks, chunkSize);
  for (const f of shard) {
    for (const r of f.records) scan.add(r.partition, r.offset, r.event);
    scan.fileDone();
  }
  return scan.finish();
}

function expectSameCells(merged: ScanMerge, view: AnyView, expected: Map<string, ViewCell<unknown>>) {
  const got = merged.result().find((c) => c.view.name === view.name)!.cells;
  expect(got.size).toBe(expected.size);
  for (const c of got.cells()) {
    const want = expected.get(cellId(c.key, c.bucket));
    expect(want).toBeDefined();
    expect(canonicalJson(JSON.parse(c.state))).toBe(canonicalJson(view.aggregator.encode(want!.state)));
  }
}

describe('a lake scan sharded by file', () => {
  it('has read the real access log', () => {
    expect(events.length).toBeGreaterThan(9_900);
  });

  it.each([1, 3])('merges %i shards into exactly the cells of the whole log', (n) => {
    const merged = new ScanMerge(views);
    for (const shard of assignShards(files, n)) merged.addEncoded(encodeScan(scanShard(shard, everything)));
    expect(merged.records).toBe(events.length);
    expect(merged.files).toBe(files.length);
    for (const view of views) expectSameCells(merged, view, evaluateView(view, events));
  });

  it('gives the same cells from live (in-thread) and encoded (worker) shard results', () => {
    const shards = assignShards(files, 2);
    const merged = new ScanMerge(views);
    merged.addLive(scanShard(shards[0], everything));
    merged.addEncoded(encodeScan(scanShard(shards[1], everything)));
    for (const view of views) expectSameCells(merged, view, evaluateView(view, events));
  });

  it('counts events per cell', () => {
    const merged = new ScanMerge(views);
    merged.addLive(scanShard(files, everything));
    const byStatus = merged.result().find((c) => c.view.name === requestsPerStatusHour.name)!.cells;
    const total = [...byStatus.cells()].reduce((s, c) => s + c.events, 0);
    expect(total).toBe(events.length);
  });

  it('folds only the offsets of each view\'s ranges', () => {
    const tasks: ScanTask[] = [{ view: requestsPerStatusHour.name, ranges: [[1, 500, 1500]], chunks: [] }];
    const merged = new ScanMerge([requestsPerStatusHour]);
    merged.addLive(scanShard(files, tasks));
    const inRange = records.filter((r) => r.partition === 1 && r.offset >= 500 && r.offset < 1500).map((r) => r.event);
    const c = merged.result()[0];
    expect(c.records).toBe(1000);
    expectSameCells(merged, requestsPerStatusHour, evaluateView(requestsPerStatusHour, inRange));
  });

  it('keeps the conformity chunks apart, and their cells add up to the range\'s', () => {
    const chunkSize = 250;
    const tasks: ScanTask[] = [{ view: requestsPerUrlMinute.name, ranges: [[2, 500, 2000]], chunks: [[2, 2, 6]] }];
    const merged = new ScanMerge([requestsPerUrlMinute]);
    for (const shard of assignShards(files, 3)) merged.addEncoded(encodeScan(scanShard(shard, tasks, chunkSize)));
    const result = merged.result()[0];
    expect([...result.chunks.keys()].sort()).toEqual(['2:2', '2:3', '2:4', '2:5']);
    for (const { partition, chunk, cells } of result.chunks.values()) {
      const own = records.filter((r) => r.partition === partition && Math.floor(r.offset / chunkSize) === chunk).map((r) => r.event);
      const expected = evaluateView(requestsPerUrlMinute as AnyView, own);
      expect(cells.size).toBe(expected.size);
      for (const c of cells.cells()) {
        expect(canonicalJson(JSON.parse(c.state))).toBe(canonicalJson(requestsPerUrlMinute.aggregator.encode(expected.get(cellId(c.key, c.bucket))!.state)));
      }
    }
  });
});
