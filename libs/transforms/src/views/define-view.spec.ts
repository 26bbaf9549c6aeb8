import { httpRequests, type HttpRequestEvent, parseApacheLogLine } from '@tandem/contracts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../algebra/aggregator';
import { count, max, sum } from '../index-aggregators';
import { catalog, requestsPerStatusHour, requestsPerUrlMinute, retiredViews, viewAtVersion, viewByName } from '../catalog';
import { defineView } from './define-view';
import { cellId, evaluateView, ViewAccumulator } from './evaluate';
import { bucketOf } from './granularity';

const events: HttpRequestEvent[] = readFileSync(join(__dirname, '../../../../data/apache-access-log/apache_logs'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map(parseApacheLogLine)
  .flatMap((r) => (r.ok ? [r.event] : []));

describe('defineView', () => {
  const base = {
    name: 'demo',
    version: 1,
    key: { status: (e: HttpRequestEvent) => e.status },
    granularity: 'hour' as const,
    aggregates: { n: count(), bytes: sum((e: HttpRequestEvent) => e.bytes) },
  };

  it('derives a stable transform version from the definition', () => {
    expect(defineView(httpRequests, base).transformVersion).toBe(defineView(httpRequests, { ...base }).transformVersion);
    expect(defineView(httpRequests, base).transformVersion).toMatch(/^v1-[0-9a-f]{12}$/);
  });

  it('changes the transform version when the definition changes', () => {
    const v = defineView(httpRequests, base).transformVersion;
    expect(defineView(httpRequests, { ...base, version: 2 }).transformVersion).not.toBe(v);
    expect(defineView(httpRequests, { ...base, granularity: 'day' }).transformVersion).not.toBe(v);
    expect(defineView(httpRequests, { ...base, aggregates: { ...base.aggregates, top: max((e: HttpRequestEvent) => e.bytes) } }).transformVersion).not.toBe(v);
    expect(defineView(httpRequests, { ...base, filter: (e) => e.method === 'GET' }).transformVersion).not.toBe(v);
  });

  it('rejects bad definitions with the reason', () => {
    expect(() => defineView(httpRequests, { ...base, name: 'Bad Name' })).toThrow(/name must match/);
    expect(() => defineView(httpRequests, { ...base, version: 0 })).toThrow(/version must be a positive integer/);
    expect(() => defineView(httpRequests, { ...base, key: {} })).toThrow(/at least one key dimension/);
    expect(() => defineView(httpRequests, { ...base, granularity: 'week' as never })).toThrow(/granularity/);
  });

  it('encodes multi-dimension keys unambiguously', () => {
    const v = defineView(httpRequests, { ...base, key: { method: (e) => e.method, path: (e) => e.path } });
    const key = v.keyOf(events[0]);
    expect(v.decodeKey(key)).toEqual([events[0].method, events[0].path]);
    expect(v.encodeKey([events[0].method, events[0].path])).toBe(key);
    expect(() => v.decodeKey('["only-one"]')).toThrow(/JSON array of 2 values/);
  });

  it('gives every event the key text JSON.stringify would, whatever the memo of multi-dimension keys holds', () => {
    const v = defineView(httpRequests, { ...base, key: { method: (e) => e.method, path: (e) => e.path, status: (e) => e.status } });
    const plain = (e: HttpRequestEvent) => JSON.stringify([e.method, e.path, e.status].map(String));
    // The log's own events twice (the second pass from the memo), then more distinct keys than
    // the memo keeps, so it starts afresh midway, then the log's events again.
    for (const e of [...events, ...events]) expect(v.keyOf(e)).toBe(plain(e));
    for (let i = 0; i < 20_000; i++) {
      const e = { ...events[i % events.length], path: `/generated/${i}` };
      expect(v.keyOf(e)).toBe(plain(e));
    }
    for (const e of events) expect(v.keyOf(e)).toBe(plain(e));
    // Numbers and their text are different memo entries with the same key; other values are not remembered.
    const mixed = defineView(httpRequests, { ...base, key: { a: (e) => e.status, b: (e) => (e.bytes % 2 === 0 ? e.status : String(e.status)) } });
    for (const e of events.slice(0, 500)) expect(mixed.keyOf(e)).toBe(JSON.stringify([String(e.status), String(e.status)]));
    const odd = defineView(httpRequests, { ...base, key: { a: (e) => e.method, b: (e) => (e.bytes > 1000 ? (null as unknown as string) : e.method) } });
    for (const e of events.slice(0, 500)) expect(odd.keyOf(e)).toBe(JSON.stringify([e.method, e.bytes > 1000 ? 'null' : e.method]));
  });

  it('names views uniquely in the catalog', () => {
    expect(new Set(catalog.map((v) => v.name)).size).toBe(catalog.length);
    expect(() => viewByName('nope')).toThrow(/unknown view "nope"; known views: requests_per_url_minute/);
  });

  it('finds a view at a transform version among the running and the retired definitions', () => {
    const v2 = defineView(httpRequests, { ...base, version: 2 });
    const v1 = defineView(httpRequests, base);
    expect(viewAtVersion(v2.name, v2.transformVersion, [v2], [v1])).toBe(v2);
    expect(viewAtVersion(v1.name, v1.transformVersion, [v2], [v1])).toBe(v1);
    expect(viewAtVersion(v1.name, v1.transformVersion, [v2], [])).toBeUndefined();
    expect(viewAtVersion('other', v1.transformVersion, [v2], [v1])).toBeUndefined();
    // No catalog view is also listed as retired at the same transform version.
    for (const r of retiredViews) expect(catalog.some((c) => c.transformVersion === r.transformVersion && c.name === r.name)).toBe(false);
  });
});

describe('the reference evaluator on the access log', () => {
  it('counts requests per status per hour like a plain group-by', () => {
    const expected = new Map<string, { n: number; bytes: number }>();
    for (const e of events) {
      const id = cellId(String(e.status), bucketOf(e.ts, 'hour'));
      const cur = expected.get(id) ?? { n: 0, bytes: 0 };
      expected.set(id, { n: cur.n + 1, bytes: cur.bytes + e.bytes });
    }
    const cells = evaluateView(requestsPerStatusHour, events);
    expect(cells.size).toBe(expected.size);
    for (const [id, cell] of cells) {
      const value = requestsPerStatusHour.aggregator.present(cell.state);
      expect({ id, requests: value.requests, bytes: value.bytes }).toEqual({ id, requests: expected.get(id)!.n, bytes: expected.get(id)!.bytes });
    }
  });

  it('puts every event in its own bucket whatever the order of event times', () => {
    const view = defineView(httpRequests, {
      name: 'requests_by_status',
      version: 1,
      key: { status: (e: HttpRequestEvent) => e.status },
      granularity: 'minute',
      aggregates: { n: count() },
    });
    // Time order, reversed, shuffled, and times on and around bucket edges, fractional and negative.
    const edges = [0, 1, 59_999, 60_000, 60_001, -1, -60_000, -60_001, 119_999.5, 60_000.25, 1e12 + 0.5];
    const times = [...events.map((e) => e.ts), ...edges, ...events.map((e) => e.ts).reverse(), ...events.map((e, i) => events[(i * 7919) % events.length].ts)];
    const acc = new ViewAccumulator(view, (e: { ts: number }) => e.ts);
    const expected = new Map<string, number>();
    for (const ts of times) {
      const e = { ...events[0], ts };
      acc.add(e);
      const id = cellId(view.keyOf(e), bucketOf(ts, 'minute'));
      expected.set(id, (expected.get(id) ?? 0) + 1);
    }
    expect(new Map([...acc.cells()].map((c) => [cellId(c.key, c.bucket), view.aggregator.present(c.state).n as number]))).toEqual(expected);
  });

  it('gives the same cells whatever the split (batch shards, speed chunks)', () => {
    const whole = evaluateView(requestsPerUrlMinute, events);
    const merged = new ViewAccumulator(requestsPerUrlMinute);
    for (let shard = 0; shard < 7; shard++) {
      const part = new ViewAccumulator(requestsPerUrlMinute);
      events.forEach((e, i) => i % 7 === shard && part.add(e));
      for (const c of part.cells()) merged.merge(c.key, c.bucket, c.state);
    }
    expect(merged.size).toBe(whole.size);
    for (const c of merged.cells()) {
      const w = whole.get(cellId(c.key, c.bucket))!;
      expect(canonicalJson(requestsPerUrlMinute.aggregator.encode(c.state))).toBe(canonicalJson(requestsPerUrlMinute.aggregator.encode(w.state)));
    }
  });
});
