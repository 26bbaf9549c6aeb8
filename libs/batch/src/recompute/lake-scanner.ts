import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { StreamContract } from '@tandem/contracts';
import type { LakeSettings, LakeStorage } from '@tandem/platform';
import { type AnyView, catalog } from '@tandem/transforms';
import { assignShards } from './lake-shards';
import { ScanMerge, type EncodedScan } from './scan-cells';
import { runScanJob, type ScanJob } from './scan-job';
import type { ScanWorkerInput } from './scan-worker';

/**
 * Runs a lake scan on several cores: the job's files are split into shards by file
 * (`assignShards`), each shard is folded by a worker thread, and the shards' cells are merged
 * with the aggregators' `plus`. Small scans, and views the worker cannot load (not in the
 * catalog), run in the calling thread: starting a worker costs more than a few files.
 */
export interface LakeScannerOptions {
  readonly contract: StreamContract;
  readonly storage: LakeStorage;
  /** How workers open the lake; without it the scan stays in this thread. */
  readonly lakeSettings?: LakeSettings;
  readonly views: readonly AnyView[];
  /** Worker threads to use at most; 0 or 1 scans in this thread. */
  readonly workers: number;
  /** Rows per worker below which another worker is not worth starting. */
  readonly minRowsPerWorker: number;
  readonly onProgress?: (progress: { readonly files: number; readonly records: number }) => void;
}

export interface ScanResult {
  readonly merge: ScanMerge;
  /** Worker threads used (0: in this thread). */
  readonly workers: number;
}

const WORKER_ENTRY = path.join(__dirname, 'scan-worker.js');

export async function scanLake(job: ScanJob, options: LakeScannerOptions): Promise<ScanResult> {
  const merge = new ScanMerge(options.views);
  const rows = job.files.reduce((sum, f) => sum + f.rows, 0);
  const shards = Math.min(options.workers, job.files.length, Math.floor(rows / Math.max(1, options.minRowsPerWorker)));
  const workerReady = options.lakeSettings !== undefined && options.views.every((v) => catalog.includes(v));
  if (shards <= 1 || !workerReady) {
    merge.addLive(await runScanJob(job, options.contract, options.storage, options.views, options.onProgress));
    return { merge, workers: 0 };
  }

  const parts = assignShards(job.files, shards);
  const progress = parts.map(() => ({ files: 0, records: 0 }));
  const report = () =>
    options.onProgress?.({ files: progress.reduce((s, p) => s + p.files, 0), records: progress.reduce((s, p) => s + p.records, 0) });
  const workers: Worker[] = [];
  try {
    const results = await Promise.all(
      parts.map(
        (files, i) =>
          new Promise<EncodedScan>((resolve, reject) => {
            const input: ScanWorkerInput = { job: { ...job, files }, lake: options.lakeSettings as LakeSettings };
            const worker = new Worker(WORKER_ENTRY, { workerData: input });
            workers.push(worker);
            let settled = false;
            worker.on('message', (m: { type: string; files?: number; records?: number; result?: EncodedScan; message?: string; stack?: string }) => {
              if (m.type === 'progress') {
                progress[i] = { files: m.files ?? 0, records: m.records ?? 0 };
                report();
              } else if (m.type === 'done') {
                settled = true;
                resolve(m.result as EncodedScan);
              } else if (m.type === 'error') {
                settled = true;
                const error = new Error(`scan worker ${i + 1}/${parts.length}: ${m.message}`);
                if (m.stack) error.stack = `${error.message}\n--- in the worker ---\n${m.stack}`;
                reject(error);
              }
            });
            worker.on('error', (error) => {
              settled = true;
              reject(error);
            });
            worker.on('exit', (code) => {
              if (!settled) reject(new Error(`scan worker ${i + 1}/${parts.length} exited with code ${code} before finishing`));
            });
          }),
      ),
    );
    for (const r of results) merge.addEncoded(r);
    return { merge, workers: parts.length };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
