import { encodeEvent, httpRequests, parseApacheLogLine } from '@tandem/contracts';
import { KafkaLog } from '@tandem/platform';
import { createTopic, testEnv, uniqueName } from '@tandem/testkit';
import { evaluateView, requestsPerStatusHour } from '@tandem/transforms';
import { Kafka, logLevel } from 'kafkajs';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { LogGapError, scanLog } from './log-scan';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** The log side of a rebuild against the real broker: what it folds, and what it refuses. */
describe('scanLog', () => {
  const { brokers } = testEnv();
  const events = readFileSync(path.resolve(__dirname, '../../../../data/apache-access-log/apache_logs'), 'utf8')
    .split('\n')
    .slice(0, 300)
    .flatMap((l) => {
      const p = parseApacheLogLine(l);
      return p.ok ? [p.event] : [];
    });
  let log: KafkaLog;

  beforeAll(() => {
    log = new KafkaLog({ brokers, clientId: 'log-scan-test', logger: quiet });
  });
  afterAll(async () => {
    await log.close();
  });

  const fill = async (topic: string) => {
    await createTopic(brokers, topic, 2);
    const producer = await log.producer();
    await producer.send(topic, [
      ...events.slice(0, 150).map((e, i) => ({ key: null, value: encodeEvent(httpRequests, e), partition: i % 2 })),
      { key: null, value: Buffer.from('not an event'), partition: 0 },
      ...events.slice(150).map((e, i) => ({ key: null, value: encodeEvent(httpRequests, e), partition: i % 2 })),
    ]);
    await producer.close();
  };

  it('folds exactly the valid records of each partition below its end, and counts the rest', async () => {
    const topic = uniqueName('log_scan');
    await fill(topic);
    const ranges = new Map([
      [0, [0, 100] as const],
      [1, [0, 120] as const],
    ]);
    const output = await scanLog({
      log,
      topic,
      contract: httpRequests,
      views: [requestsPerStatusHour],
      tasks: [{ view: requestsPerStatusHour.name, ranges: [[0, 0, 100], [1, 0, 120]], chunks: [] }],
      ranges,
      chunkSize: 10,
      groupId: uniqueName('log_scan_group'),
    });
    // Partition 0 holds events 0, 2, 4, ... then the broken record at offset 75, then the rest.
    const p0 = events.slice(0, 150).filter((_, i) => i % 2 === 0);
    const p0After = events.slice(150).filter((_, i) => i % 2 === 0);
    const p1 = [...events.slice(0, 150).filter((_, i) => i % 2 === 1), ...events.slice(150).filter((_, i) => i % 2 === 1)];
    const expected = [...p0, ...p0After].slice(0, 99).concat(p1.slice(0, 120));
    expect(output.rejected).toBe(1);
    expect(output.records).toBe(expected.length);
    const cells = new Map([...output.views[0].cells.cells()].map((c) => [`${c.key}|${c.bucket}`, c.state]));
    const oracle = [...evaluateView(requestsPerStatusHour, expected).values()];
    expect(cells.size).toBe(oracle.length);
    for (const cell of oracle) expect(cells.get(`${cell.key}|${cell.bucket}`)?.state).toEqual(cell.state);
    expect([...cells.values()].reduce((n, c) => n + c.events, 0)).toBe(expected.length);
  });

  it('refuses a partition whose start was deleted by retention', async () => {
    const topic = uniqueName('log_scan_gap');
    await fill(topic);
    const admin = new Kafka({ clientId: 'log-scan-test', brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 1, offset: '30' }] });
    await admin.disconnect();
    await expect(
      scanLog({
        log,
        topic,
        contract: httpRequests,
        views: [requestsPerStatusHour],
        tasks: [{ view: requestsPerStatusHour.name, ranges: [[0, 0, 50], [1, 0, 50]], chunks: [] }],
        ranges: new Map([
          [0, [0, 50] as const],
          [1, [0, 50] as const],
        ]),
        chunkSize: 10,
        groupId: uniqueName('log_scan_group'),
      }),
    ).rejects.toThrow(LogGapError);
  });
});
