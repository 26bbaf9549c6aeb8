import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { httpRequests } from '@tandem/contracts';
import { testEnv } from '@tandem/testkit';
import { type AnyView, requestsPerStatusHour, requestsPerUrlMinute } from '@tandem/transforms';
import { BatchRunInProgressError } from './batch-lock';
import { accessLogEvents, type BatchTestEnv, currentTable, openBatchTestEnv, tableRows, testRunner } from './testing/batch-test-env';
import { LakeFixture } from './testing/lake-fixture';

/**
 * A batch run that dies at any point leaves the previous version serving, readable and
 * complete; the next run cleans up after it and succeeds.
 */
jest.setTimeout(180_000);

const views: AnyView[] = [requestsPerUrlMinute, requestsPerStatusHour];
const ROOT = path.join(__dirname, '../../../..');
const events = accessLogEvents();

let env: BatchTestEnv;
let lake: LakeFixture;

beforeEach(async () => {
  env = await openBatchTestEnv('batch_crash');
  lake = new LakeFixture(env.storage, httpRequests);
  await lake.appendByKey(events.slice(0, 5_000), 400);
  const runner = testRunner(env, views);
  await runner.run({ mode: 'full' });
  await runner.close();
  await lake.appendByKey(events.slice(5_000), 400);
});

afterEach(async () => {
  await env?.close();
});

/** What serving reads now: per view, the pointer and every row of its table. */
async function served() {
  const out = new Map<string, { pointer: unknown; rows: Map<string, unknown> }>();
  for (const v of views) {
    const pointer = (await currentTable(env.db, v.name))!;
    out.set(v.name, { pointer, rows: await tableRows(env.db, pointer.table) });
  }
  return out;
}

/** After recovery, the tables equal a full recompute of the same cut. */
async function expectEqualToFullRecompute() {
  const incremental = await served();
  const runner = testRunner(env, views);
  await runner.run({ mode: 'full' });
  await runner.close();
  const full = await served();
  for (const v of views) {
    expect((incremental.get(v.name)!.pointer as { cut: unknown }).cut).toEqual((full.get(v.name)!.pointer as { cut: unknown }).cut);
    expect(incremental.get(v.name)!.rows).toEqual(full.get(v.name)!.rows);
  }
}

it('survives SIGKILL in the middle of the COPY of a new version', async () => {
  const before = await served();
  const child = spawn(process.execPath, [path.join(ROOT, 'tools/run.js'), path.join(__dirname, 'testing/batch-run-child.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: testEnv().databaseUrl,
      BATCH_TEST_SCHEMA: env.schema,
      LAKE_DIR: env.lakeDir,
      TANDEM_CHUNK_SIZE: '500',
      BATCH_VIEWS: views.map((v) => v.name).join(','),
      BATCH_MODE: 'full',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('COPYING')) resolve();
      if (d.toString().includes('FINISHED')) reject(new Error('the run finished before it could be killed'));
    });
    void exited.then((how) => reject(new Error(`the child run ended (${how}) before its COPY: ${stderr}`)));
  });
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');

  // The dead run left its traces, and serving is untouched.
  const { rows: runs } = await env.db.pool.query(`SELECT run_id, status FROM tandem_batch_runs ORDER BY generation`);
  expect(runs.map((r) => r.status)).toEqual(['completed', 'running']);
  const { rows: building } = await env.db.pool.query(`SELECT table_name FROM tandem_batch_versions WHERE status = 'building'`);
  expect(building.length).toBeGreaterThan(0);
  expect(await served()).toEqual(before);

  // The next run closes the dead one, drops its half-written table and succeeds.
  const runner = testRunner(env, views);
  const summary = await runner.run({ mode: 'incremental' });
  await runner.close();
  expect(summary.abandonedRuns).toEqual([runs[1].run_id]);
  expect(summary.droppedVersions.filter((d) => d.reason === 'unfinished').map((d) => d.table).sort()).toEqual(building.map((b) => b.table_name).sort());
  const { rows: left } = await env.db.pool.query(`SELECT to_regclass($1) AS t`, [building[0].table_name]);
  expect(left[0].t).toBeNull();
  expect(summary.views.every((v) => v.flipped && v.mode === 'incremental')).toBe(true);
  await expectEqualToFullRecompute();
});

it('keeps serving the previous version when a run fails after writing, before the flip', async () => {
  const before = await served();
  const written: string[] = [];
  const failing = testRunner(env, views, {
    hooks: {
      afterWrite: (view, table) => {
        written.push(table);
        if (view === requestsPerStatusHour.name) throw new Error('injected failure before the flip');
      },
    },
  });
  await expect(failing.run({ mode: 'incremental' })).rejects.toThrow('injected failure before the flip');
  await failing.close();
  expect(written).toHaveLength(2); // the first view's new table was complete, and still not served
  expect(await served()).toEqual(before);
  const { rows } = await env.db.pool.query(`SELECT status, error FROM tandem_batch_runs ORDER BY generation DESC LIMIT 1`);
  expect(rows[0]).toEqual({ status: 'failed', error: 'injected failure before the flip' });
  for (const table of written) {
    const { rows: t } = await env.db.pool.query(`SELECT to_regclass($1) AS t`, [table]);
    expect(t[0].t).toBeNull(); // a failed run drops what it built
  }

  const runner = testRunner(env, views);
  const summary = await runner.run({ mode: 'incremental' });
  await runner.close();
  expect(summary.views.every((v) => v.flipped)).toBe(true);
  await expectEqualToFullRecompute();
});

it('serialises runs: a second run while one holds the lock is refused', async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let reachedFlip!: () => void;
  const atFlip = new Promise<void>((resolve) => (reachedFlip = resolve));
  const slow = testRunner(env, views, {
    hooks: {
      beforeFlip: async () => {
        reachedFlip();
        await held;
      },
    },
  });
  const first = slow.run({ mode: 'incremental' });
  await atFlip;
  const other = testRunner(env, views);
  await expect(other.run({ mode: 'incremental' })).rejects.toBeInstanceOf(BatchRunInProgressError);
  release();
  await expect(first).resolves.toMatchObject({ views: expect.any(Array) });
  await slow.close();
  await other.close();
});
