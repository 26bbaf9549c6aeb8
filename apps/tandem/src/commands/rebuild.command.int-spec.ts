import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { encodeEvent, httpRequests, parseApacheLogLine } from '@tandem/contracts';
import { floorToChunk, KafkaLog } from '@tandem/platform';
import { createTopic, testEnv, withSchema, type TestSchema } from '@tandem/testkit';
import { evaluateView, requestsPerStatusHour } from '@tandem/transforms';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../../..');
const CHUNK = 10;
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** `tandem rebuild` as an operator runs it: a process, settings from the environment. */
describe('tandem rebuild', () => {
  const { brokers, databaseUrl } = testEnv();
  let schema: TestSchema;
  let lakeDir: string;
  let log: KafkaLog;
  const events = readFileSync(path.join(ROOT, 'data/apache-access-log/apache_logs'), 'utf8')
    .split('\n')
    .slice(0, 400)
    .flatMap((l) => {
      const p = parseApacheLogLine(l);
      return p.ok ? [p.event] : [];
    });

  beforeAll(async () => {
    schema = await withSchema(databaseUrl, 'rebuild_cli');
    lakeDir = await mkdtemp(path.join(tmpdir(), 'tandem-rebuild-cli-'));
    log = new KafkaLog({ brokers, clientId: 'rebuild-cli-test', logger: quiet });
  });
  afterAll(async () => {
    await log?.close();
    await schema?.drop();
    await rm(lakeDir, { recursive: true, force: true });
  });

  const tandem = (args: string[]) =>
    run(process.execPath, [path.join(ROOT, 'tools/run.js'), path.join(ROOT, 'apps/tandem/src/main.ts'), ...args], {
      cwd: ROOT,
      env: {
        ...process.env,
        KAFKA_BROKERS: brokers.join(','),
        DATABASE_URL: databaseUrl,
        DATABASE_SCHEMA: schema.schema,
        LAKE_DIR: lakeDir,
        TANDEM_TOPIC_PREFIX: `${schema.schema}.`,
        TANDEM_CHUNK_SIZE: String(CHUNK),
        TANDEM_VIEWS: requestsPerStatusHour.name,
      },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it('rebuilds a view from the log into a new current version, and refuses what it cannot do', async () => {
    const topic = `${schema.schema}.${httpRequests.topic}`;
    await createTopic(brokers, topic, httpRequests.partitions);
    const producer = await log.producer();
    const positions = await producer.send(topic, events.map((e, i) => ({ key: String(i), value: encodeEvent(httpRequests, e) })));
    await producer.close();

    const rebuilt = await tandem(['rebuild', '--view', requestsPerStatusHour.name, '--from', 'log', '--json', '--no-progress']);
    expect(rebuilt.stderr).toBe('');
    expect(rebuilt.code).toBe(0);
    const summary = JSON.parse(rebuilt.stdout);
    expect(summary).toMatchObject({ source: 'log', mode: 'full', rejected: 0 });
    const [view] = summary.views;
    expect(view).toMatchObject({ view: requestsPerStatusHour.name, flipped: true, batchVersion: summary.generation });
    const ends = new Map<number, number>();
    for (const p of positions) ends.set(p.partition, Math.max(ends.get(p.partition) ?? 0, p.offset + 1));
    for (const [p, end] of ends) expect(view.cut[String(p)]).toBe(floorToChunk(end, CHUNK));

    // The version holds the view of exactly the events below the cut.
    const below = events.filter((_, i) => positions[i].offset < view.cut[String(positions[i].partition)]);
    const expected = evaluateView(requestsPerStatusHour, below);
    const { Client } = await import('pg');
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      await client.query(`SET search_path TO ${schema.schema}`);
      const current = await client.query(`SELECT table_name FROM tandem_batch_current WHERE view = $1`, [requestsPerStatusHour.name]);
      expect(current.rows[0].table_name).toBe(view.table);
      const { rows } = await client.query(`SELECT key, bucket, state, events FROM "${view.table}"`);
      expect(rows.length).toBe(expected.size);
      expect(rows.reduce((n, r) => n + Number(r.events), 0)).toBe(below.length);
      for (const r of rows) {
        const cell = [...expected.values()].find((c) => c.key === r.key && c.bucket === Number(r.bucket));
        expect(cell).toBeDefined();
        expect(requestsPerStatusHour.aggregator.decode(r.state)).toEqual(cell!.state);
      }
    } finally {
      await client.end();
    }

    // The lake is empty (no archiver ran): a rebuild from it would move the cut back. Refused.
    const fromLake = await tandem(['rebuild', '--view', requestsPerStatusHour.name, '--from', 'lake', '--no-progress']);
    expect(fromLake.code).toBe(1);
    expect(fromLake.stderr).toMatch(/lake covers less of partition\(s\) .* than the current batch cut/);

    const badSource = await tandem(['rebuild', '--view', requestsPerStatusHour.name, '--from', 's3']);
    expect(badSource.code).toBe(1);
    expect(badSource.stderr).toMatch(/'s3' is invalid.*log, lake/);
    const unknownView = await tandem(['rebuild', '--view', 'no_such_view', '--from', 'log']);
    expect(unknownView.code).toBe(1);
    expect(unknownView.stderr).toMatch(/no_such_view/);
  });
});
