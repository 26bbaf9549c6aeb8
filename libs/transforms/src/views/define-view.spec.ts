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
