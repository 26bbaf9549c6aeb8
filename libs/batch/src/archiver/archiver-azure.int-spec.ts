// The archiver writing its lake to Azure Blob Storage (Azurite) from the real Kafka broker.
import { httpRequests } from '@tandem/contracts';
import { AzureBlobLakeStorage, createKafkaLog, type KafkaLog, LakeManifest } from '@tandem/platform';
import { createTopic, startAzurite, testEnv, uniqueName, type AzuriteServer } from '@tandem/testkit';
import { Registry } from 'prom-client';
import { createArchiver } from './archiver';
import { accessLogEvents, produceAccessLog } from './testing/access-log';
import { auditLake, expectExactLake } from './testing/lake-audit';

jest.setTimeout(120_000);
const { brokers } = testEnv();
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('archiver into Azure Blob Storage', () => {
  let azurite: AzuriteServer;
  let log: KafkaLog;

  beforeAll(async () => {
    azurite = await startAzurite();
    log = createKafkaLog({ brokers, clientId: 'archiver-azure-int', logger: quiet, consumer: { sessionTimeout: 6_000, heartbeatInterval: 500, maxWaitTimeInMs: 100 } });
  });
  afterAll(async () => {
    await log?.close();
    await azurite?.stop();
  });

  it('archives a topic into a blob container, resuming from the blob manifest after a restart', async () => {
    const topic = uniqueName('archiver_azure');
    await createTopic(brokers, topic, 2);
    const lake = new AzureBlobLakeStorage({ connectionString: azurite.connectionString, container: 'tandem-lake', prefix: topic });
    const events = accessLogEvents(3_000);
    let invalid = await produceAccessLog(log, topic, events.slice(0, 1_500));
    const archiver = () =>
      createArchiver({ log, storage: lake, streams: [httpRequests], topicOf: () => topic, groupId: uniqueName('archiver'), maxRecords: 400, maxAgeMs: 300, registry: new Registry(), logger: quiet });
    const covered = async () => {
      const ends = await (await log.admin()).endOffsets(topic);
      const coverage = await new LakeManifest(lake).coveredUntil('http_requests');
      return [...ends].every(([p, end]) => (coverage.get(p) ?? 0) >= end);
    };
    const waitCovered = async () => {
      const deadline = Date.now() + 60_000;
      while (!(await covered())) {
        if (Date.now() > deadline) throw new Error('the lake did not cover the topic');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };

    const first = archiver();
    await first.start();
    await waitCovered();
    await first.stop();
    const before = await new LakeManifest(lake).load('http_requests');

    invalid += await produceAccessLog(log, topic, events.slice(1_500));
    const second = archiver();
    await second.start();
    await waitCovered();
    await second.stop();

    const entries = await new LakeManifest(lake).load('http_requests');
    expect(entries.length).toBeGreaterThan(before.length);
    expect(entries).toEqual(expect.arrayContaining(before)); // append-only: the first run's entries are untouched
    expect(entries.every((e) => e.file === null || e.file.startsWith('http_requests/date='))).toBe(true);
    const audit = await auditLake(lake, httpRequests, log, topic);
    expect(audit.validRecords).toBe(3_000);
    expectExactLake(audit, invalid);
  });
});
