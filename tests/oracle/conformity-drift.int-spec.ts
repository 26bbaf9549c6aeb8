import { httpRequests, parseApacheLogLine } from '@tandem/contracts';
import { requestsPerStatusHour, requestsPerUrlMinute } from '@tandem/transforms';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { InProcessStack } from './in-process-stack';

jest.setTimeout(120_000);

const views = [requestsPerUrlMinute, requestsPerStatusHour];

/**
 * Conformity in the loop (DESIGN.md section 6): a batch run compares the chunks it newly
 * covers with the speed layer's rows. A speed path that differs from the lake — here a
 * realtime row tampered with in SQL, as a faulty speed layer would have written it — is
 * reported as drift in the run record; an untouched one is not.
 */
describe('conformity check', () => {
  const events = readFileSync(path.resolve(__dirname, '..', '..', 'data', 'apache-access-log', 'apache_logs'), 'utf8')
    .split('\n')
    .slice(0, 800)
    .flatMap((l) => {
      const p = parseApacheLogLine(l);
      return p.ok ? [p.event as unknown as Record<string, unknown>] : [];
    });
  let stack: InProcessStack;

  beforeAll(async () => {
    stack = await InProcessStack.start(httpRequests, views, { chunkSize: 20, first: events[0] });
  }, 120_000);
  afterAll(async () => stack?.close(), 60_000);

  const driftOf = async (runId: string) => {
    const { rows } = await stack.db.pool.query<{ conformity: { view: string; compared: number; mismatches: number }[] }>(`SELECT conformity FROM tandem_batch_runs WHERE run_id = $1`, [runId]);
    return rows[0].conformity;
  };

  it('reports no drift when the speed layer agrees with the lake', async () => {
    await stack.publish('http_requests', events.slice(1, 400));
    await stack.settle();
    const run = await stack.batch.run({ mode: 'incremental' });
    const conformity = await driftOf(run.runId);
    expect(conformity.map((c) => c.view).sort()).toEqual(views.map((v) => v.name).sort());
    for (const c of conformity) {
      expect(c.compared).toBeGreaterThan(0);
      expect(c.mismatches).toBe(0);
    }
  });

  it('reports drift when one realtime row differs from what the lake gives', async () => {
    await stack.publish('http_requests', events.slice(400));
    await stack.settle();
    // A faulty speed path: one cell of a chunk the speed layer has fully passed loses its events.
    const { rowCount } = await stack.db.pool.query(
      `DELETE FROM tandem_realtime WHERE ctid = (
         SELECT r.ctid FROM tandem_realtime r
           JOIN tandem_speed_offsets o ON o.consumer = $2 AND o.partition = r.partition
          WHERE r.view = $1 AND (r.chunk + 1) * 20 <= o.next_offset
          ORDER BY r.partition, r.chunk, r.key LIMIT 1)`,
      [requestsPerStatusHour.name, stack.speedGroup],
    );
    expect(rowCount).toBe(1);
    const run = await stack.batch.run({ mode: 'incremental' });
    const conformity = await driftOf(run.runId);
    const tampered = conformity.find((c) => c.view === requestsPerStatusHour.name)!;
    const untouched = conformity.find((c) => c.view === requestsPerUrlMinute.name)!;
    expect(tampered.mismatches).toBeGreaterThan(0);
    expect(untouched.mismatches).toBe(0);
    // The batch version is computed from the lake, so the served answer is still right.
    const summary = run.views.find((v) => v.view === requestsPerStatusHour.name)!;
    expect(summary.conformity?.mismatches).toBe(tampered.mismatches);
  });
});
