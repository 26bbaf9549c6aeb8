// An archiver as its own process, for the crash tests: run with `node tools/run.js <this file>`.
// Settings come from the environment (below). With ARCHIVER_CRASH_AFTER_FILES=N the process
// kills itself with SIGKILL right after writing its N-th data file, before the file's
// manifest entry: the one moment a crash leaves a file the manifest does not know.
import { httpRequests } from '@tandem/contracts';
import { createKafkaLog, type LakeStorage, LocalLakeStorage } from '@tandem/platform';
import { createArchiver } from '../archiver';

function setting(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

/** Wraps a lake so that the process dies with SIGKILL after `files` data-file writes. */
function crashingAfter(storage: LakeStorage, files: number): LakeStorage {
  let written = 0;
  const count = (path: string) => {
    if (path.endsWith('.parquet') && ++written === files) {
      process.stderr.write(`crash: SIGKILL after writing ${path}\n`);
      process.kill(process.pid, 'SIGKILL');
    }
  };
  return {
    location: storage.location,
    put: async (path, bytes) => {
      await storage.put(path, bytes);
      count(path);
    },
    create: async (path, bytes) => {
      const created = await storage.create(path, bytes);
      count(path);
      return created;
    },
    get: (path) => storage.get(path),
    list: (prefix) => storage.list(prefix),
    exists: (path) => storage.exists(path),
    delete: (path) => storage.delete(path),
  };
}

async function main(): Promise<void> {
  const topic = setting('ARCHIVER_TOPIC');
  const crashAfter = Number(process.env['ARCHIVER_CRASH_AFTER_FILES'] ?? 0);
  const lake = new LocalLakeStorage(setting('LAKE_DIR'));
  const log = createKafkaLog({
    brokers: setting('KAFKA_BROKERS').split(','),
    clientId: 'archiver-process',
    // Short sessions: a member killed with SIGKILL leaves the group within seconds.
    consumer: { sessionTimeout: 6_000, heartbeatInterval: 500, maxWaitTimeInMs: 100 },
  });
  const archiver = createArchiver({
    log,
    storage: crashAfter > 0 ? crashingAfter(lake, crashAfter) : lake,
    streams: [httpRequests],
    topicOf: () => topic,
    groupId: setting('ARCHIVER_GROUP'),
    maxRecords: Number(setting('ARCHIVER_MAX_RECORDS', '50000')),
    maxAgeMs: Number(setting('ARCHIVER_MAX_AGE_MS', '10000')),
  });
  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    void archiver
      .stop()
      .then(() => log.close())
      .then(() => process.exit(0));
  });
  await archiver.start();
  process.stdout.write('archiver started\n');
}

main().catch((error) => {
  process.stderr.write(`archiver process failed: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
