// The speed service (apps/speed) as a process, against a real broker and PostgreSQL: killed with SIGKILL
// at several points of a stream (and once right after it started), stopped with SIGTERM once,
// restarted each time; the realtime totals still equal the evaluator's, exactly.
import { type ChildProcess, spawn } from 'node:child_process';
import { type AddressInfo, createServer } from 'node:net';
import * as path from 'node:path';
import { httpRequests } from '@tandem/contracts';
import { type Database, KafkaLog, openDatabase } from '@tandem/platform';
import { createTopic, testEnv, uniqueName, withSchema, type TestSchema } from '@tandem/testkit';
import { requestsPerStatusHour, requestsPerUrlMinute } from '@tandem/transforms';
import {
  accessLogEvents,
  committedRecords,
  expectedTotals,
  produceEvents,
  realtimeTotals,
  totalsDiff,
  waitForOffsets,
  waitUntil,
} from './testing/speed-fixtures';

const ROOT = path.resolve(__dirname, '../../..');
const { brokers, databaseUrl } = testEnv();
const views = [requestsPerUrlMinute, requestsPerStatusHour];

interface SpeedProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function startSpeed(env: Record<string, string>): SpeedProcess {
  const child = spawn(process.execPath, ['tools/run.js', 'apps/speed/src/main.ts'], {
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

describe('speed service process', () => {
  const events = accessLogEvents();
  let schema: TestSchema;
  let db: Database;
  let log: KafkaLog;
  const running = new Set<ChildProcess>();

  beforeAll(async () => {
    schema = await withSchema(databaseUrl, 'speed_proc');
    // Migrated here once, so the processes under test start without racing for it.
    db = await openDatabase({ url: databaseUrl, schema: schema.schema });
    log = new KafkaLog({ brokers, clientId: 'speed-process-int' });
  });

  afterAll(async () => {
    for (const child of running) child.kill('SIGKILL');
    await log?.close();
    await db?.close();
    await schema?.drop();
  });

  it('refuses to start on bad configuration and names the setting', async () => {
    const speed = startSpeed({ KAFKA_BROKERS: brokers.join(','), DATABASE_URL: databaseUrl, TANDEM_CHUNK_SIZE: 'ten', TANDEM_VIEWS: 'no_such_view' });
    const { code } = await speed.exited;
    expect(code).toBe(2);
    expect(speed.output()).toMatch(/TANDEM_CHUNK_SIZE/);
    const unknownView = startSpeed({ KAFKA_BROKERS: brokers.join(','), DATABASE_URL: databaseUrl, TANDEM_VIEWS: 'no_such_view' });
    expect((await unknownView.exited).code).toBe(2);
    expect(unknownView.output()).toMatch(/TANDEM_VIEWS: unknown view "no_such_view"/);
  }, 30_000);

  it('counts every event exactly once across SIGKILLs and a SIGTERM', async () => {
    const prefix = `${uniqueName('speed_proc')}.`;
    const topic = `${prefix}${httpRequests.topic}`;
    const groupId = uniqueName('speed_proc_group');
    await createTopic(brokers, topic, httpRequests.partitions);
    // Small producer requests make small record batches, so fetches stay small too.
    const ends = await produceEvents(log, topic, events, 250);
    const total = events.length;

    const env = {
      KAFKA_BROKERS: brokers.join(','),
      DATABASE_URL: databaseUrl,
      DATABASE_SCHEMA: schema.schema,
      SPEED_GROUP_ID: groupId,
      TANDEM_VIEWS: views.map((v) => v.name).join(','),
      TANDEM_TOPIC_PREFIX: prefix,
      TANDEM_CHUNK_SIZE: '500',
      SPEED_MAX_BATCH_BYTES: '4096',
      SPEED_MAX_BATCH_RECORDS: '40',
      // A pause before each COMMIT makes most kills land inside a transaction.
      SPEED_COMMIT_DELAY_MS: '15',
      SPEED_SESSION_TIMEOUT_MS: '6000',
      SPEED_HEARTBEAT_INTERVAL_MS: '500',
      PORT: '0',
    };
    const committed = () => committedRecords(db.pool, groupId, topic);

    const runUntil = async (label: string, stop: (speed: SpeedProcess) => Promise<void>, signal: NodeJS.Signals, extraEnv: Record<string, string> = {}) => {
      const speed = startSpeed({ ...env, ...extraEnv });
      running.add(speed.child);
      try {
        await stop(speed);
      } catch (error) {
        throw new Error(`${label}: ${(error as Error).message}\n--- process output ---\n${speed.output().slice(-4000)}`);
      } finally {
        speed.child.kill(signal);
      }
      const exit = await speed.exited;
      running.delete(speed.child);
      return { exit, output: speed.output() };
    };

    // Right after start: killed as soon as it reports running (joining, or in its first batch).
    await runUntil('kill after start', (s) => waitUntil('the service runs', () => s.output().includes('speed layer running'), 60_000, 10), 'SIGKILL');

    const progress: number[] = [];
    for (const share of [0.1, 0.4, 0.75]) {
      const { exit } = await runUntil(
        `kill at ${share * 100}%`,
        () => waitUntil(`${share * 100}% committed`, async () => (await committed()) >= share * total, 60_000, 10),
        'SIGKILL',
      );
      expect(exit.signal).toBe('SIGKILL');
      const atKill = await committed();
      progress.push(atKill);
      // The kill landed mid-stream, not after the end.
      expect(atKill).toBeLessThan(total);
    }
    expect(progress[0]).toBeLessThan(progress[1]);
    expect(progress[1]).toBeLessThan(progress[2]);

    // Graceful stop mid-stream: the in-flight transaction commits whole or not at all.
    const graceful = await runUntil(
      'SIGTERM at 85%',
      async () => waitUntil('85% committed', async () => (await committed()) >= 0.85 * total, 60_000, 10),
      'SIGTERM',
    );
    expect(graceful.output).toContain('speed layer stopped');

    // The last run finishes the stream, and reports itself healthy while it runs.
    const port = await freePort();
    await runUntil(
      'final run',
      async () => {
        await waitForOffsets(db.pool, groupId, topic, ends, 90_000);
        const health = await fetch(`http://127.0.0.1:${port}/health`);
        expect(health.status).toBe(200);
        expect(await health.json()).toMatchObject({ status: 'ok', info: { postgres: { status: 'up' }, kafka: { status: 'up' }, consumer: { status: 'up' } } });
        const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        expect(metrics).toMatch(new RegExp(`tandem_speed_records_total\\{topic="${topic.replace(/\./g, '\\.')}"\\} \\d+`));
        expect(metrics).toContain('tandem_speed_freshness_ms');
        expect(metrics).toContain('process_cpu_seconds_total');
      },
      'SIGTERM',
      { PORT: String(port) },
    );

    for (const view of views) {
      expect(totalsDiff(await realtimeTotals(db.pool, view), expectedTotals(view, events))).toEqual([]);
    }
  }, 150_000);
});
