import { httpRequests, parseApacheLogLine } from '@tandem/contracts';
import { requestsPerStatusHour, requestsPerUrlMinute } from '@tandem/transforms';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { InProcessStack } from './in-process-stack';
import { compareView } from './layer-checks';

jest.setTimeout(120_000);

const HOUR = 3_600_000;
const views = [requestsPerUrlMinute, requestsPerStatusHour];

/**
 * Late and out-of-order events (DESIGN.md section 4): events whose event time lies hours
 * before the newest ones arrive after a batch run has covered their buckets. The split is by
 * log position, so they are counted exactly once: by the speed layer until the next batch
 * run covers their offsets, then by the batch layer alone.
 */
describe('late events', () => {
  const lines = readFileSync(path.resolve(__dirname, '..', '..', 'data', 'apache-access-log', 'apache_logs'), 'utf8').split('\n').slice(0, 1_200);
  const events = lines.flatMap((l) => {
    const p = parseApacheLogLine(l);
    return p.ok ? [p.event as unknown as Record<string, unknown>] : [];
  });
  let stack: InProcessStack;

  beforeAll(async () => {
    stack = await InProcessStack.start(httpRequests, views, { chunkSize: 20, first: events[0] });
  }, 120_000);
  afterAll(async () => stack?.close(), 60_000);

  it('counts events hours late exactly once, before and after the batch run that covers them', async () => {
    await stack.publish('http_requests', events.slice(1, 1_000));
    await stack.settle();
    const first = await stack.batch.run({ mode: 'incremental' });
    expect(first.views.every((v) => v.flipped)).toBe(true);
    const newest = Math.max(...stack.accepted.map((e) => e.event['ts'] as number));
    const coveredBuckets = new Set(stack.accepted.map((e) => Math.floor((e.event['ts'] as number) / HOUR)));

    // Late: the next requests of the log, stamped 3 to 7 hours before the newest event, in
    // buckets the batch version already holds, sent after the run.
    const late = events.slice(1_000).map((e, i) => ({ ...e, ts: newest - (3 + (i % 4)) * HOUR - ((i * 7_919_000) % HOUR) }));
    expect(late.some((e) => coveredBuckets.has(Math.floor(e.ts / HOUR)))).toBe(true);
    expect(late.every((e) => e.ts < newest - 2 * HOUR)).toBe(true);
    await stack.publish('http_requests', late);
    await stack.settle();
    const range = { from: Math.floor(Math.min(...stack.accepted.map((e) => e.event['ts'] as number)) / 86_400_000) * 86_400_000, to: newest + 86_400_000 };

    // Before the next run: the late events come from the speed layer, next to the batch version.
    for (const view of views) {
      const tally = await compareView(stack.queries, view, stack.accepted, range, 'late, before the next batch run');
      expect(tally.mismatches).toEqual([]);
      expect(tally.comparisons).toBeGreaterThan(0);
    }
    const second = await stack.batch.run({ mode: 'incremental' });
    expect(second.views.every((v) => v.flipped)).toBe(true);
    // After it: from the batch version, with nothing left in the speed layer to add them twice.
    for (const view of views) {
      const tally = await compareView(stack.queries, view, stack.accepted, range, 'late, after the next batch run');
      expect(tally.mismatches).toEqual([]);
    }
    const total = await stack.queries.topN({ view: requestsPerStatusHour.name, aggregate: 'requests', from: range.from, to: range.to, n: 1000 });
    expect((total as unknown as { entries: { value: number }[] }).entries.reduce((n, e) => n + e.value, 0)).toBe(stack.accepted.length);
  });
});
