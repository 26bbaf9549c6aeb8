// The archiver against the real Kafka broker of the integration harness: the real access log,
// then the crash test: an archiver process killed with SIGKILL at several points.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { httpRequests } from '@tandem/contracts';
import { createKafkaLog, type KafkaLog, LakeManifest, LocalLakeStorage, parseDataFilePath } from '@tandem/platform';
import { createTopic, testEnv, uniqueName } from '@tandem/testkit';
import { Registry } from 'prom-client';
import { createArchiver } from './archiver';
import { accessLogEvents, produceAccessLog } from './testing/access-log';
import { auditLake, expectExactLake } from './testing/lake-audit';

const { brokers } = testEnv();
jest.setTimeout(150_000);
const children = new Set<ChildProcess>();
const ROOT = path.resolve(__dirname, '../../../..');
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

async function waitFor(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('archiver on Kafka', () => {
  let log: KafkaLog;
  let dir: string;
  let lake: LocalLakeStorage;

  beforeAll(() => {
    log = createKafkaLog({ brokers, clientId: 'archiver-int', logger: quiet, consumer: { sessionTimeout: 6_000, heartbeatInterval: 500, maxWaitTimeInMs: 100 } });
  });
  afterAll(async () => {
    await log.close();
  });
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tandem-archiver-int-'));
    lake = new LocalLakeStorage(path.join(dir, 'lake'));
  });
  afterEach(() => {
    for (const child of children) child.kill('SIGKILL');
    children.clear();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Whether the manifest covers every partition of `topic` to its end. */
  const covered = async (topic: string) => {
    const ends = await (await log.admin()).endOffsets(topic);
    const coverage = await new LakeManifest(lake).coveredUntil('http_requests');
    return [...ends].every(([p, end]) => (coverage.get(p) ?? 0) >= end);
  };

  it('archives the access log: the lake holds exactly the valid records of the topic', async () => {
    const topic = uniqueName('archiver_access_log');
    await createTopic(brokers, topic, 4);
    const events = accessLogEvents();
    const invalid = await produceAccessLog(log, topic, events);
    const archiver = createArchiver({
      log,
      storage: lake,
      streams: [httpRequests],
      topicOf: () => topic,
      groupId: uniqueName('archiver'),
      maxRecords: 1_000,
      maxAgeMs: 500,
      registry: new Registry(),
      logger: quiet,
    });
    await archiver.start();
    try {
      await waitFor(() => covered(topic), 'the lake to cover the topic');
    } finally {
      await archiver.stop();
    }
    const audit = await auditLake(lake, httpRequests, log, topic);
    expect(audit.validRecords).toBe(9_999);
    expect(invalid).toBeGreaterThan(0);
    expectExactLake(audit, invalid);
  });

  it('ends with an exact lake after SIGKILLs at several points', async () => {
    const topic = uniqueName('archiver_sigkill');
    await createTopic(brokers, topic, 3);
    const groupId = uniqueName('archiver_sigkill');
    const events = accessLogEvents(6_000);
    let invalid = await produceAccessLog(log, topic, events.slice(0, 2_000), 250);
    const stderr: string[] = [];
    const run = (crashAfterFiles = 0) =>
      startArchiverProcess(
        {
          KAFKA_BROKERS: brokers.join(','),
          ARCHIVER_TOPIC: topic,
          ARCHIVER_GROUP: groupId,
          LAKE_DIR: path.join(dir, 'lake'),
          ARCHIVER_MAX_RECORDS: '150',
          ARCHIVER_MAX_AGE_MS: '300',
          ARCHIVER_CRASH_AFTER_FILES: String(crashAfterFiles),
        },
        stderr,
      );
    const unlisted = async () => {
      const named = new Set((await new LakeManifest(lake).load('http_requests')).map((e) => e.file));
      return (await lake.list('http_requests/')).filter((p) => parseDataFilePath(p) && !named.has(p));
    };

    // 1. Dies right after writing its third file, before that file's manifest entry.
    const first = run(3);
    expect(await first.exited).toBe('SIGKILL');
    expect(await unlisted()).toHaveLength(1);

    // 2. Restarts (recording that file), archives while more records arrive, killed from outside.
    const second = run();
    await second.started;
    invalid += await produceAccessLog(log, topic, events.slice(2_000, 4_000), 250);
    await waitFor(async () => (await new LakeManifest(lake).load('http_requests')).length >= 20, 'more files');
    second.child.kill('SIGKILL');
    expect(await second.exited).toBe('SIGKILL');
    const leftByOutsideKill = (await unlisted()).length; // 0, or 1 if the kill fell between a file and its entry
    expect(leftByOutsideKill).toBeLessThanOrEqual(1);

    // 3. Dies again between a file and its entry, on its second file.
    invalid += await produceAccessLog(log, topic, events.slice(4_000, 5_000), 250);
    const third = run(2);
    expect(await third.exited).toBe('SIGKILL');
    expect(await unlisted()).toHaveLength(1);

    // 4. Restarts, takes the rest, stops cleanly.
    const fourth = run();
    await fourth.started;
    invalid += await produceAccessLog(log, topic, events.slice(5_000), 250);
    await waitFor(() => covered(topic), 'the lake to cover the topic', 90_000);
    fourth.child.kill('SIGTERM');
    expect(await fourth.exited).toBe(0);

    expect(stderr.join('').match(/recorded a data file written before a crash/g)).toHaveLength(2 + leftByOutsideKill);
    expect(await unlisted()).toEqual([]);
    const audit = await auditLake(lake, httpRequests, log, topic);
    expect(audit.validRecords).toBe(6_000);
    expectExactLake(audit, invalid);
  });
});

interface ArchiverProcess {
  readonly child: ChildProcess;
  /** Resolves once the archiver has joined its group. */
  readonly started: Promise<void>;
  /** The signal that ended the process, or its exit code. */
  readonly exited: Promise<NodeJS.Signals | number>;
}

function startArchiverProcess(env: Record<string, string>, stderr: string[]): ArchiverProcess {
  const child = spawn(process.execPath, ['tools/run.js', 'libs/batch/src/archiver/testing/archiver-process.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<NodeJS.Signals | number>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code ?? -1)));
  const started = new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('archiver started')) resolve();
    });
    void exited.then((how) => reject(new Error(`archiver process ended (${how}) before it started:\n${stderr.join('').slice(-3000)}`)));
  });
  started.catch(() => undefined);
  return { child, started, exited };
}
