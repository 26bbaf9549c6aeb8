import { parentPort, workerData } from 'node:worker_threads';
import { streamByName } from '@tandem/contracts';
import { type LakeSettings, lakeStorageFromSettings } from '@tandem/platform';
import { encodeScan } from './scan-cells';
import { catalogViewsOf, runScanJob, type ScanJob } from './scan-job';

/**
 * A worker thread's side of a parallel scan: folds its shard of the lake and posts the cells
 * back encoded (the parent merges shards with the aggregators' `plus`).
 *
 * Messages to the parent: `{ type: 'progress', files, records }` after each file, then
 * `{ type: 'done', result }` or `{ type: 'error', message, stack }`.
 */
export interface ScanWorkerInput {
  readonly job: ScanJob;
  readonly lake: LakeSettings;
}

async function main(): Promise<void> {
  const { job, lake } = workerData as ScanWorkerInput;
  const port = parentPort;
  if (!port) throw new Error('scan-worker must run in a worker thread');
  try {
    const output = await runScanJob(job, streamByName(job.stream), lakeStorageFromSettings(lake), catalogViewsOf(job), (p) =>
      port.postMessage({ type: 'progress', files: p.files, records: p.records }),
    );
    port.postMessage({ type: 'done', result: encodeScan(output) });
  } catch (error) {
    const e = error as Error;
    port.postMessage({ type: 'error', message: e.message ?? String(error), stack: e.stack });
  }
}

void main();
