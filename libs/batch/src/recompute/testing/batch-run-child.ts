// A batch run in its own process, for the crash test: it announces `COPYING` on stdout once
// the COPY of a new version's table is under way, then blocks its event loop, so the parent
// can kill it with SIGKILL in the middle of the write.
//
//   DATABASE_URL, BATCH_TEST_SCHEMA, LAKE_DIR, TANDEM_CHUNK_SIZE, BATCH_VIEWS, BATCH_MODE
import { LocalLakeStorage, openDatabase } from '@tandem/platform';
import { selectViews } from '@tandem/transforms';
import { Registry } from 'prom-client';
import { createBatchRunner } from '../batch-runner';

async function main(): Promise<void> {
  const env = process.env;
  const db = await openDatabase({ url: env['DATABASE_URL'] as string, schema: env['BATCH_TEST_SCHEMA'] as string });
  const runner = createBatchRunner({
    db,
    storage: new LocalLakeStorage(env['LAKE_DIR'] as string),
    views: selectViews((env['BATCH_VIEWS'] ?? '*').split(',')),
    chunkSize: Number(env['TANDEM_CHUNK_SIZE']),
    registry: new Registry(),
    workers: 0,
    logger: { log: () => undefined, warn: () => undefined, error: () => undefined },
  });
  let announced = false;
  await runner.run({
    mode: env['BATCH_MODE'] === 'full' ? 'full' : 'incremental',
    onProgress: (p) => {
      if (p.phase === 'write' && p.rowsWritten > 0 && !announced) {
        announced = true;
        process.stdout.write('COPYING\n');
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
      }
    },
  });
  process.stdout.write('FINISHED\n');
  await db.close();
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
