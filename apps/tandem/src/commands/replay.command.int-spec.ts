import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { flights, httpRequests } from '@tandem/contracts';
import { IngestMetrics, IngestService, startIngestEdge, type IngestEdge } from '@tandem/ingest';
import { KafkaLog } from '@tandem/platform';
import { testEnv, uniqueName } from '@tandem/testkit';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../../..');
const KEY = 'replay-write-key';
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const flight = (i: number) => ({ ts: 978307200000 + i * 60_000, delay: (i % 40) - 10, distance: 200 + i, origin: ['SFO', 'JFK', 'ORD'][i % 3], destination: 'LAX' });

/** `tandem replay` as a user runs it: a process posting a file's events to a real ingest over a real broker. */
describe('tandem replay', () => {
  const { brokers } = testEnv();
  const prefix = `${uniqueName('replay')}.`;
  let log: KafkaLog;
  let ingest: IngestService;
  let edge: IngestEdge;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tandem-replay-'));
    log = new KafkaLog({ brokers, clientId: 'replay-test', logger: quiet });
    const metrics = new IngestMetrics({ defaultMetrics: false });
    ingest = new IngestService({ log, topicPrefix: prefix, sendTimeoutMs: 15_000, observer: metrics });
    edge = await startIngestEdge({ ingest, metrics, http: { port: 0, host: '127.0.0.1' }, grpc: false, apiKeys: [KEY], rateLimit: { limit: 0, windowMs: 1_000 }, maxBodyBytes: 1 << 20, logger: false });
  });
  afterAll(async () => {
    await edge?.close();
    await ingest?.close();
    await log?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const tandem = (args: string[]) =>
    run(process.execPath, [path.join(ROOT, 'tools/run.js'), path.join(ROOT, 'apps/tandem/src/main.ts'), 'replay', ...args], { cwd: ROOT, env: { ...process.env, TANDEM_INGEST_URL: edge.httpUrl } }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
  const eventsIn = async (topic: string) => {
    const admin = await log.admin();
    try {
      return [...(await admin.endOffsets(`${prefix}${topic}`)).values()].reduce((a, b) => a + b, 0);
    } finally {
      await admin.close();
    }
  };

  it('sends a JSON-lines file, reporting what ingest rejected and what was not an event, and the log holds the rest', async () => {
    const file = path.join(dir, 'flights.jsonl');
    const lines = Array.from({ length: 30 }, (_, i) => JSON.stringify(flight(i)));
    lines.splice(11, 0, '{"ts": 978307200000, "delay": 3,');
    lines.splice(20, 0, JSON.stringify({ ...flight(99), delay: 'late' }));
    await writeFile(file, `${lines.join('\n')}\n`);

    const result = await tandem([file, '--stream', 'flights', '--api-key', KEY, '--batch', '7', '--json', '--no-progress']);
    expect(result.code).toBe(2);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ sent: 31, accepted: 30, rejected: 1, unreadable: 1, records: 32 });
    expect(summary.problems).toEqual([expect.stringMatching(/^record 12: not JSON/), expect.stringMatching(/^record 21: schema-violation: .*\/delay/)]);
    expect(await eventsIn(flights.topic)).toBe(30);
  });

  it('sends an Apache access log, line by line', async () => {
    const result = await tandem([path.join(ROOT, 'data/apache-access-log/apache_logs'), '--stream', 'http_requests', '--api-key', KEY, '--limit', '300', '--no-progress']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/300 events sent, 300 accepted, 0 rejected, 0 unreadable records/);
    expect(await eventsIn(httpRequests.topic)).toBe(300);
  });

  it('stops with how to resume when ingest refuses the request, and refuses an unknown stream', async () => {
    const file = path.join(dir, 'few.jsonl');
    await writeFile(file, [flight(1), flight(2)].map((e) => JSON.stringify(e)).join('\n'));
    const denied = await tandem([file, '--stream', 'flights', '--api-key', 'wrong-key', '--no-progress']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/ingest answered 403.*resume with --skip 0/);
    const unknown = await tandem([file, '--stream', 'clicks', '--no-progress']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown stream "clicks"/);
  });
});
