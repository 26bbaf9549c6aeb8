// The batch service as a process against a real broker, PostgreSQL and a local lake: the
// archiver copies the topic into the lake, the schedule recomputes the views from it, and
// /health, /metrics and /status report it. Bad settings stop it with their name.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { encodeEvent, httpRequests, parseApacheLogLine } from '@tandem/contracts';
import { type Database, KafkaLog, openDatabase } from '@tandem/platform';
import { createTopic, testEnv, uniqueName, withSchema, type TestSchema } from '@tandem/testkit';
import { readFileSync } from 'node:fs';

jest.setTimeout(180_000);

const ROOT = path.resolve(__dirname, '../../..');
const { brokers, databaseUrl } = testEnv();

function startBatch(env: Record<string, string>) {
  const child = spawn(process.execPath, ['tools/run.js', 'apps/batch/src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => output, exited };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('batch service process', () => {
  let schema: TestSchema;
  let db: Database;
  let lakeDir: string;
  const running = new Set<ChildProcess>();

  beforeAll(async () => {
    schema = await withSchema(databaseUrl, 'batch_proc');
    db = await openDatabase({ url: databaseUrl, schema: schema.schema });
    lakeDir = await mkdtemp(path.join(tmpdir(), 'tandem-lake-'));
  });

  afterAll(async () => {
    for (const child of running) child.kill('SIGKILL');
    await db?.close();
    await schema?.drop();
    await rm(lakeDir, { recursive: true, force: true });
  });

  it('refuses to start on bad configuration and names the setting', async () => {
    const batch = startBatch({ DATABASE_URL: databaseUrl, BATCH_RETENTION: '0', TANDEM_VIEWS: 'no_such_view' });
    expect((await batch.exited).code).toBe(2);
    expect(batch.output()).toMatch(/BATCH_RETENTION/);
    const noBroker = startBatch({ DATABASE_URL: databaseUrl });
    expect((await noBroker.exited).code).toBe(2);
    expect(noBroker.output()).toMatch(/KAFKA_BROKERS: required/);
  });

  it('archives the log, recomputes the views on its schedule and reports it', async () => {
    const prefix = `${uniqueName('batch_proc')}.`;
    const topic = `${prefix}${httpRequests.topic}`;
    await createTopic(brokers, topic, httpRequests.partitions);
    const events = readFileSync(path.join(ROOT, 'data/apache-access-log/apache_logs'), 'utf8')
      .split('\n')
      .flatMap((line) => {
        const parsed = line ? parseApacheLogLine(line) : undefined;
        return parsed?.ok ? [parsed.event] : [];
      })
      .slice(0, 4_000);
    const log = new KafkaLog({ brokers, clientId: 'batch-proc-int' });
    const producer = await log.producer();
    for (let i = 0; i < events.length; i += 500) {
      await producer.send(topic, events.slice(i, i + 500).map((e) => ({ key: httpRequests.key(e), value: encodeEvent(httpRequests, e) })));
    }
    await producer.close();
    await log.close();

    const port = await freePort();
    const batch = startBatch({
      KAFKA_BROKERS: brokers.join(','),
      DATABASE_URL: databaseUrl,
      DATABASE_SCHEMA: schema.schema,
      LAKE_DIR: lakeDir,
      TANDEM_TOPIC_PREFIX: prefix,
      TANDEM_VIEWS: 'requests_per_status_hour,requests_per_url_minute',
      TANDEM_CHUNK_SIZE: '100',
      BATCH_INTERVAL_MS: '1500',
      ARCHIVER_GROUP_ID: uniqueName('archiver'),
      ARCHIVER_MAX_AGE_MS: '500',
      ARCHIVER_MAX_RECORDS: '700',
      PORT: String(port),
    });
    running.add(batch.child);
    const base = `http://127.0.0.1:${port}`;

    // A scheduled run covers (nearly) everything once the archiver has written it all.
    const covered = await waitFor('a batch run covering the produced events', async () => {
      const { rows } = await db.pool.query(`SELECT sum(events)::int AS events FROM tandem_batch_versions WHERE view = 'requests_per_status_hour' AND status = 'ready' GROUP BY batch_version ORDER BY batch_version DESC LIMIT 1`);
      const n = rows[0]?.events as number | undefined;
      return n !== undefined && n >= events.length - 4 * 100 ? n : undefined;
    });
    expect(covered).toBeLessThanOrEqual(events.length);

    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', info: { postgres: { status: 'up' }, lake: { status: 'up' }, archiver: { status: 'up' } } });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/tandem_batch_runs_total\{mode="incremental",status="completed"\} [1-9]/);
    expect(metrics).toMatch(/tandem_batch_view_rows\{view="requests_per_status_hour"\} [1-9]/);
    const status = (await (await fetch(`${base}/status`)).json()) as { schedule: { runs: number; lastRun: { views: { view: string }[] } } };
    expect(status.schedule.runs).toBeGreaterThan(0);

    // Nest runs its shutdown hooks on SIGTERM, then re-raises the signal.
    batch.child.kill('SIGTERM');
    const how = await batch.exited;
    expect(how.code === 0 || how.signal === 'SIGTERM').toBe(true);
    expect(batch.output()).not.toMatch(/scheduled batch run failed/);
    running.delete(batch.child);
  });
});
