import { parentPort, workerData } from 'node:worker_threads';
import { streamByName } from '@tandem/contracts';
import { type LakeSettings, lakeStorageFromSettings, type ManifestEntry } from '@tandem/platform/lake';
import { LakeScan } from './lake-scan';
import { encodeScan, transferablesOf } from './scan-cells';
import { catalogViewsOf, foldFiles, type ScanJob } from './scan-job';

/**
 * A worker thread's side of a parallel scan: folds the files the parent hands it, one at a
 * time, and posts the cells back encoded (the parent merges threads with the aggregators'
 * `plus`). Files are asked for one by one so that whichever thread is free takes the next:
 * a thread that started late (a worker loads the workspace's modules first) or got slower
 * files simply takes fewer.
 *
 * Messages to the parent: `{ type: 'next' }` to ask for a file, `{ type: 'progress', files,
 * records }` after each file, then `{ type: 'done', result }` or `{ type: 'error', message,
 * stack }`. From the parent: `{ type: 'file', entry }` or `{ type: 'end' }` (no more files).
 */
export interface ScanWorkerInput {
  /** The job; its `files` are ignored (they come one by one). */
  readonly job: ScanJob;
  readonly lake: LakeSettings;
}

export type ToScanWorker = { readonly type: 'file'; readonly entry: ManifestEntry } | { readonly type: 'end' };

// Files asked for ahead of the one being folded, so the parent's answer (it may be folding a
// file itself) never leaves this thread waiting.
const ASKED_AHEAD = 2;

async function main(): Promise<void> {
  const { job, lake } = workerData as ScanWorkerInput;
  const port = parentPort;
  if (!port) throw new Error('scan-worker must run in a worker thread');
  try {
    const inbox: (ManifestEntry | undefined)[] = [];
    let waiting: ((entry: ManifestEntry | undefined) => void) | undefined;
    let ended = false;
    port.on('message', (m: ToScanWorker) => {
      const entry = m.type === 'file' ? m.entry : undefined;
      if (waiting) {
        const deliver = waiting;
        waiting = undefined;
        deliver(entry);
      } else {
        inbox.push(entry);
      }
    });
    const ask = () => port.postMessage({ type: 'next' });
    for (let i = 0; i < ASKED_AHEAD; i++) ask();
    const nextFile = (): ManifestEntry | undefined | Promise<ManifestEntry | undefined> => {
      if (ended) return undefined;
      const take = (entry: ManifestEntry | undefined) => {
        if (entry === undefined) ended = true;
        else ask();
        return entry;
      };
      if (inbox.length > 0) return take(inbox.shift());
      return new Promise<ManifestEntry | undefined>((resolve) => {
        waiting = (entry) => resolve(take(entry));
      });
    };

    const contract = streamByName(job.stream);
    const scan = new LakeScan(catalogViewsOf(job), job.tasks, job.chunkSize);
    await foldFiles(scan, { contract, storage: lakeStorageFromSettings(lake), verify: job.verify }, nextFile, (p) =>
      port.postMessage({ type: 'progress', files: p.files, records: p.records }),
    );
    const result = encodeScan(scan.finish());
    port.postMessage({ type: 'done', result }, transferablesOf(result));
  } catch (error) {
    const e = error as Error;
    port.postMessage({ type: 'error', message: e.message ?? String(error), stack: e.stack });
  }
}

void main();
