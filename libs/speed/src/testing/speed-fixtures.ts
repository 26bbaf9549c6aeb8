// Helpers of the speed layer's integration tests: the real access log as events, producing
// them, reading the realtime rows back as view totals, and the oracle comparison.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { encodeEvent, type HttpRequestEvent, httpRequests, parseApacheLogLine } from '@tandem/contracts';
import type { Log } from '@tandem/platform';
import { type AnyView, bucketOf, canonicalJson, cellId, evaluateView, type Json } from '@tandem/transforms';
import type { Pool } from 'pg';

export const ACCESS_LOG_PATH = path.resolve(__dirname, '../../../../data/apache-access-log/apache_logs');

/** Every line of the real access log that parses, in file order. */
export function accessLogEvents(): HttpRequestEvent[] {
  const events: HttpRequestEvent[] = [];
  for (const line of readFileSync(ACCESS_LOG_PATH, 'utf8').split('\n')) {
    if (line.length === 0) continue;
    const parsed = parseApacheLogLine(line);
    if (parsed.ok) events.push(parsed.event);
  }
  return events;
}

/** Produces events keyed by the contract's key, in chunks; returns the end offset per partition. */
export async function produceEvents(log: Log, topic: string, events: readonly HttpRequestEvent[], chunk = 1000): Promise<Map<number, number>> {
  const producer = await log.producer();
  const ends = new Map<number, number>();
  try {
    for (let i = 0; i < events.length; i += chunk) {
      const positions = await producer.send(
        topic,
        events.slice(i, i + chunk).map((e) => ({ key: httpRequests.key(e), value: encodeEvent(httpRequests, e) })),
      );
      for (const p of positions) ends.set(p.partition, Math.max(ends.get(p.partition) ?? 0, p.offset + 1));
    }
  } finally {
    await producer.close();
  }
  return ends;
}

/** Sum of next_offset over a consumer's partitions of a topic. */
export async function committedRecords(pool: Pool, consumer: string, topic: string): Promise<number> {
  const { rows } = await pool.query<{ n: string | null }>(`SELECT sum(next_offset) AS n FROM tandem_speed_offsets WHERE consumer = $1 AND topic = $2`, [
    consumer,
    topic,
  ]);
  return Number(rows[0].n ?? 0);
}

/** Waits until `condition` holds, polling; fails with `what` after `timeoutMs`. */
export async function waitUntil(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 60_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Waits until the stored offsets of `topic` reach the produced end of every partition. */
export async function waitForOffsets(pool: Pool, consumer: string, topic: string, ends: ReadonlyMap<number, number>, timeoutMs = 60_000): Promise<void> {
  const total = [...ends.values()].reduce((a, b) => a + b, 0);
  await waitUntil(`offsets of ${topic} reach ${total}`, async () => (await committedRecords(pool, consumer, topic)) >= total, timeoutMs);
  const { rows } = await pool.query<{ partition: number; next_offset: string }>(
    `SELECT partition, next_offset FROM tandem_speed_offsets WHERE consumer = $1 AND topic = $2`,
    [consumer, topic],
  );
  for (const row of rows) {
    const end = ends.get(row.partition) ?? 0;
    if (Number(row.next_offset) !== end) throw new Error(`partition ${row.partition}: stored next offset ${row.next_offset}, produced end ${end}`);
  }
}

export interface CellTotal {
  readonly key: string;
  readonly bucket: number;
  /** canonicalJson of the encoded state. */
  readonly state: string;
  readonly events: number;
}

/** The realtime rows of a view, merged over partitions and chunks with the view's aggregator. */
export async function realtimeTotals(pool: Pool, view: AnyView): Promise<Map<string, CellTotal>> {
  const { rows } = await pool.query<{ key: string; bucket: string; state: Json; events: string }>(
    `SELECT key, bucket, state, events FROM tandem_realtime WHERE view = $1 AND transform_version = $2`,
    [view.name, view.transformVersion],
  );
  const agg = view.aggregator;
  const merged = new Map<string, { key: string; bucket: number; state: unknown; events: number }>();
  for (const row of rows) {
    const bucket = Number(row.bucket);
    const id = cellId(row.key, bucket);
    const state = agg.decode(row.state);
    const cell = merged.get(id);
    if (cell === undefined) merged.set(id, { key: row.key, bucket, state, events: Number(row.events) });
    else {
      cell.state = agg.plusInto(cell.state, state);
      cell.events += Number(row.events);
    }
  }
  return new Map([...merged].map(([id, c]) => [id, { key: c.key, bucket: c.bucket, state: canonicalJson(agg.encode(c.state)), events: c.events }]));
}

/** The evaluator's answer for the same events, in the same shape (events: how many the view took). */
export function expectedTotals(view: AnyView, events: readonly unknown[]): Map<string, CellTotal> {
  const counts = new Map<string, number>();
  for (const e of events) {
    if (!view.accepts(e)) continue;
    const id = cellId(view.keyOf(e), bucketOfEvent(view, e));
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const cells = evaluateView(view, events);
  return new Map(
    [...cells].map(([id, c]) => [id, { key: c.key, bucket: c.bucket, state: canonicalJson(view.aggregator.encode(c.state)), events: counts.get(id) ?? 0 }]),
  );
}

const bucketOfEvent = (view: AnyView, e: unknown): number => bucketOf(view.stream.eventTime(e as never), view.granularity);

/** Differences between two sets of totals (empty when equal), at most `limit` of them. */
export function totalsDiff(actual: ReadonlyMap<string, CellTotal>, expected: ReadonlyMap<string, CellTotal>, limit = 5): string[] {
  const diffs: string[] = [];
  for (const [id, e] of expected) {
    const a = actual.get(id);
    if (a === undefined) diffs.push(`missing cell ${e.key} @ ${e.bucket}`);
    else if (a.state !== e.state || a.events !== e.events) diffs.push(`cell ${e.key} @ ${e.bucket}: got ${a.events} events ${a.state}, expected ${e.events} events ${e.state}`);
    if (diffs.length >= limit) return diffs;
  }
  for (const [id, a] of actual) {
    if (!expected.has(id)) diffs.push(`unexpected cell ${a.key} @ ${a.bucket}`);
    if (diffs.length >= limit) break;
  }
  return diffs;
}
