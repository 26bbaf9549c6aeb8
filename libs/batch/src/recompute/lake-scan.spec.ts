import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { type HttpRequestEvent, parseApacheLogLine } from '@tandem/contracts';
import { type ManifestEntry, readFlights } from '@tandem/platform';
import { type AnyView, canonicalJson, catalog, cellId, evaluateView, requestsPerStatusHour, requestsPerUrlMinute, topK, type ViewCell, ViewAccumulator } from '@tandem/transforms';
import { parseCopyLine } from './batch-view-table';
import { CellLinesWriter, CellMerger } from './cell-merger';
import { countedView } from './counted-view';
import { FileQueue } from './lake-scanner';
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

describe('folding with one reused event object (as a columnar lake scan does)', () => {
  it('gives every catalog view the cells fresh objects give: no aggregator keeps the event', async () => {
    const flights: unknown[] = [];
    for await (const slice of readFlights({ limit: 20_000, batchSize: 20_000 })) flights.push(...slice);
    const byStream = new Map<string, unknown[]>([
      ['http_requests', events],
      ['flights', flights],
    ]);
    for (const view of catalog) {
      const input = byStream.get(view.stream.name) as Record<string, unknown>[];
      expect(input.length).toBeGreaterThan(9_000);
      const reused: Record<string, unknown> = {};
      const fields = Object.keys(input[0]);
      const acc = new ViewAccumulator(view);
      for (const e of input) {
        for (const f of fields) reused[f] = e[f];
        acc.add(reused);
      }
      const expected = evaluateView(view, input);
      expect(acc.size).toBe(expected.size);
      for (const c of acc.cells()) {
        expect(canonicalJson(view.aggregator.encode(c.state))).toBe(canonicalJson(view.aggregator.encode(expected.get(cellId(c.key, c.bucket))!.state)));
      }
    }
  });
});

describe('CellMerger with whole sources', () => {
  const view = requestsPerUrlMinute as AnyView;
  const counted = countedView(view);
  /** The cells of some events, as a live accumulator of the counted view. */
  const live = (part: readonly HttpRequestEvent[]) => {
    const acc = new ViewAccumulator(counted);
    for (const e of part) acc.add(e);
    return acc;
  };
  /** The same cells written as a worker writes them: COPY lines. */
  const lines = (part: readonly HttpRequestEvent[]) => {
    const writer = new CellLinesWriter();
    for (const c of live(part).cells()) writer.add(c.key, c.bucket, JSON.stringify(view.aggregator.encode(c.state.state)), c.state.events);
    return writer.finish();
  };
  const expectCells = (merger: CellMerger<unknown>, part: readonly HttpRequestEvent[]) => {
    const expected = evaluateView(view, part);
    const got = [...merger.cells()];
    expect(got.length).toBe(expected.size);
    expect(merger.size).toBe(expected.size);
    expect(new Set(got.map((c) => cellId(c.key, c.bucket))).size).toBe(got.length);
    for (const c of got) expect(canonicalJson(JSON.parse(c.state))).toBe(canonicalJson(view.aggregator.encode(expected.get(cellId(c.key, c.bucket))!.state)));
    expect(got.reduce((n, c) => n + c.events, 0)).toBe(part.length);
    // The COPY blocks hold the same cells, line for line.
    const text = [...merger.copyBlocks()].map((b) => (typeof b.text === 'string' ? b.text : Buffer.from(b.text).toString('utf8'))).join('');
    const copied = text.split('\n').filter((l) => l.length > 0).map(parseCopyLine);
    expect(new Map(copied.map((c) => [cellId(c.key, c.bucket), c]))).toEqual(new Map(got.map((c) => [cellId(c.key, c.bucket), c])));
    expect(copied.length).toBe(got.length);
  };

  it('merges sources that share buckets into exactly the cells of their union', () => {
    const some = events.slice(0, 3_000);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: some.length }), { minLength: 1, maxLength: 4 }), fc.boolean(), (cutsRaw, mixLive) => {
        const cuts = [0, ...cutsRaw.sort((a, b) => a - b), some.length];
        const merger = new CellMerger<unknown>(view.aggregator);
        for (let i = 0; i + 1 < cuts.length; i++) {
          const part = some.slice(cuts[i], cuts[i + 1]);
          if (mixLive && i % 2 === 0) merger.addLiveCells(live(part));
          else merger.addLines(lines(part));
        }
        expectCells(merger, some);
      }),
      { numRuns: 10 },
    );
  });

  it('merges only the cells of shared buckets when sources hold separate stretches of time', () => {
    const half = Math.floor(events.length / 2);
    const merger = new CellMerger<unknown>(view.aggregator);
    merger.addLines(lines(events.slice(0, half)));
    merger.addLiveCells(live(events.slice(half)));
    expectCells(merger, events);
    // The log is in time order: only the minute(s) around the cut are held by both halves.
    const perMinute = evaluateView(view, events).size / new Set(events.map((e) => Math.floor(e.ts / 60_000))).size;
    expect(merger.merges).toBeLessThan(3 * perMinute + 5);
  });

  it('stays exact when cells are added one by one after the sources were read', () => {
    const third = Math.floor(events.length / 3);
    const merger = new CellMerger<unknown>(view.aggregator);
    merger.addLines(lines(events.slice(0, third)));
    merger.addLiveCells(live(events.slice(third, 2 * third)));
    expect(merger.size).toBeGreaterThan(0);
    for (const c of live(events.slice(2 * third, 3 * third)).cells()) merger.addState(c.key, c.bucket, c.state.state, c.state.events);
    merger.addLines(lines(events.slice(3 * third)));
    expectCells(merger, events);
  });
});

describe('cells written as COPY lines', () => {
  it('keep keys and states with tabs, newlines, backslashes and non-ASCII characters exact', () => {
    const odd = [
      { key: 'tab\there', bucket: 0, state: '{"s":"a\\\\b"}', events: 1 },
      { key: 'line\nbreak\r', bucket: 60_000, state: '{"s":"\\n\\t"}', events: 2 },
      { key: 'back\\slash é 日本', bucket: -60_000, state: '[1,2.5e-7,null]', events: 3 },
    ];
    const writer = new CellLinesWriter();
    for (const c of odd) writer.add(c.key, c.bucket, c.state, c.events);
    const merger = new CellMerger<unknown>((requestsPerUrlMinute as AnyView).aggregator);
    merger.addLines(writer.finish());
    expect([...merger.cells()]).toEqual(odd);
    const text = [...merger.copyBlocks()].map((b) => Buffer.from(b.text as Uint8Array).toString('utf8')).join('');
    // One line per cell: no raw tab or newline inside a field.
    expect(text.split('\n')).toHaveLength(odd.length + 1);
    expect(text.split('\n')[0].split('\t')).toHaveLength(4);
  });
});

describe('cells written from their states', () => {
  it('writes the bytes add() writes with the encoded text, whatever the key and state hold', () => {
    // States of the catalog's views over real log lines, plus a top-k whose keys force every
    // fallback: backslashes and quotes (escaped JSON), non-ASCII, control characters.
    const tops = topK((e: { readonly v: string }) => e.v, { k: 5, capacity: 20 });
    const oddValues = ['plain', 'back\\slash', 'quo"te', 'é 日本', 'tab\there', 'new\nline'];
    const sources: { key: string; bucket: number; agg: AnyView['aggregator'] | typeof tops; state: unknown; events: number }[] = [];
    for (const view of views) {
      const acc = new ViewAccumulator(view);
      for (const e of events.slice(0, 2_000)) acc.add(e);
      for (const c of acc.cells()) sources.push({ key: c.key, bucket: c.bucket, agg: view.aggregator, state: c.state, events: 1 + (c.bucket % 7) });
    }
    oddValues.forEach((v, i) => sources.splice(i * 97, 0, { key: `k${i}`, bucket: i * 60_000, agg: tops, state: tops.lift({ v }), events: 1 }));
    ['tab\tkey', 'new\nkey', 'back\\key', 'ключ', '\u0001ctl'].forEach((key, i) => sources.splice(i * 131 + 5, 0, { ...sources[i * 131 + 5], key }));

    const byText = new CellLinesWriter();
    const byState = new CellLinesWriter();
    for (const c of sources) {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const agg = c.agg as any;
      byText.add(c.key, c.bucket, agg.encodeText(c.state), c.events);
      byState.addState(c.key, c.bucket, agg, c.state, c.events);
    }
    const a = byText.finish();
    const b = byState.finish();
    const text = (l: typeof a) => Buffer.concat(l.chunks).toString('utf8');
    expect(text(b)).toBe(text(a));
    expect([...b.lineEnds]).toEqual([...a.lineEnds]);
    expect([...b.runBuckets]).toEqual([...a.runBuckets]);
    expect([...b.runEnds]).toEqual([...a.runEnds]);
    expect([...b.events]).toEqual([...a.events]);
    expect(text(b).split('\n')).toHaveLength(sources.length + 1);
  });
});

describe('cells written as COPY lines, over many chunks', () => {
  it('keeps every cell, whole lines in every block', () => {
    const cells = Array.from({ length: 30_000 }, (_, i) => ({
      key: i % 7 === 0 ? `é${i}` : `k${i}`,
      bucket: Math.floor(i / 100) * 60_000,
      state: i === 12_345 ? `"${'x'.repeat(1_500_000)}"` : `{"n":${i},"pad":"${'p'.repeat(90)}"}`,
      events: (i % 5) + 1,
    }));
    const writer = new CellLinesWriter();
    for (const c of cells) writer.add(c.key, c.bucket, c.state, c.events);
    const lines = writer.finish();
    expect(lines.chunks.length).toBeGreaterThan(3);
    const merger = new CellMerger<unknown>((requestsPerUrlMinute as AnyView).aggregator);
    merger.addLines(lines);
    expect([...merger.cells()]).toEqual(cells);
    const blocks = [...merger.copyBlocks()];
    expect(merger.textBytes).toBe(blocks.reduce((n, b) => n + b.text.length, 0));
    const texts = blocks.map((b) => Buffer.from(b.text as Uint8Array).toString('utf8'));
    expect(texts.every((t) => t.endsWith('\n'))).toBe(true);
    expect(blocks.reduce((n, b) => n + b.rows, 0)).toBe(cells.length);
    expect(blocks.reduce((n, b) => n + b.events, 0)).toBe(cells.reduce((n, c) => n + c.events, 0));
    expect(texts.join('').split('\n').slice(0, -1).map(parseCopyLine)).toEqual(cells);
  });
});

describe('FileQueue', () => {
  const entry = (partition: number, firstOffset: number, rows: number) => ({ partition, firstOffset, lastOffset: firstOffset + rows - 1, rows, file: `p${partition}-${firstOffset}` }) as ManifestEntry;
  const lake = fc
    .array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 500 })), { minLength: 1, maxLength: 30 })
    .map((specs) => {
      const next = [0, 0, 0, 0];
      return specs.map(([p, rows]) => {
        const e = entry(p, next[p], rows);
        next[p] += rows;
        return e;
      });
    });

  it('hands out every file exactly once, whatever order the threads ask in', () => {
    fc.assert(
      fc.property(lake, fc.integer({ min: 1, max: 4 }), fc.array(fc.nat(), { maxLength: 200 }), (files, threads, asks) => {
        const queue = new FileQueue(files, threads);
        const taken: string[] = [];
        for (const a of asks) {
          const f = queue.take(a % threads);
          if (f) taken.push(f.file as string);
        }
        for (let t = 0; t < threads; t++) for (let f = queue.take(t); f; f = queue.take(t)) taken.push(f.file as string);
        expect(taken.sort()).toEqual(files.map((f) => f.file as string).sort());
      }),
    );
  });

  it('starts each thread on its own stretch of the log, in offset order, of about equal rows', () => {
    const files = [0, 1, 2, 3].flatMap((p) => Array.from({ length: 10 }, (_, i) => entry(p, i * 100, 100)));
    const queue = new FileQueue(files, 2);
    const first = Array.from({ length: 20 }, () => queue.take(0) as ManifestEntry);
    const second = Array.from({ length: 20 }, () => queue.take(1) as ManifestEntry);
    // Thread 0: the first half of every partition; thread 1: the second half, each in order.
    expect(first.every((f) => f.firstOffset < 500)).toBe(true);
    expect(second.every((f) => f.firstOffset >= 500)).toBe(true);
    expect(first.map((f) => f.firstOffset)).toEqual([...first.map((f) => f.firstOffset)].sort((a, b) => a - b));
    expect(queue.take(0)).toBeUndefined();
  });

  it('lets a thread that is through take from the far end of the largest stretch left', () => {
    const files = Array.from({ length: 10 }, (_, i) => entry(0, i * 100, 100));
    const queue = new FileQueue(files, 2);
    for (let i = 0; i < 5; i++) queue.take(0);
    expect(queue.take(0)?.firstOffset).toBe(900);
    expect(queue.take(1)?.firstOffset).toBe(500);
    queue.close();
    expect(queue.take(1)).toBeUndefined();
  });
});
