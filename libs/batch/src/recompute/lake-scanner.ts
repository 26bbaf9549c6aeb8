import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { StreamContract } from '@tandem/contracts';
import type { LakeSettings, LakeStorage, ManifestEntry } from '@tandem/platform';
import { type AnyView, catalog } from '@tandem/transforms';
import { LakeScan, type ScanProgress } from './lake-scan';
import { encodeScan, ScanMerge, type EncodedScan } from './scan-cells';
import { foldFiles, runScanJob, type ScanJob } from './scan-job';
import type { ScanWorkerInput, ToScanWorker } from './scan-worker';

/**
 * Runs a lake scan on several cores: this thread and worker threads fold the job's files,
 * and their cells are merged with the aggregators' `plus`. Small scans, and views a worker
 * cannot load (not in the catalog), run in this thread alone: starting a worker costs more
 * than a few files.
 *
 * Files are handed out one at a time (`FileQueue`): each thread starts on its own stretch of
 * the log and, when it is through, takes files from the far end of the largest stretch left.
 * This thread starts at once and the workers a second or so later (they load the workspace's
 * modules first); the queue evens that out. Contiguous stretches keep the threads' event
 * times apart, so few cells need merging (see `CellMerger`).
 */
export interface LakeScannerOptions {
  readonly contract: StreamContract;
  readonly storage: LakeStorage;
  /** How workers open the lake; without it the scan stays in this thread. */
  readonly lakeSettings?: LakeSettings;
  readonly views: readonly AnyView[];
  /** Threads to scan with at most, this one included; 0 or 1 scans in this thread alone. */
  readonly workers: number;
  /** Rows per thread below which another thread is not worth starting. */
  readonly minRowsPerWorker: number;
  readonly onProgress?: (progress: { readonly files: number; readonly records: number }) => void;
}

export interface ScanResult {
  readonly merge: ScanMerge;
  /** Threads that scanned, this one included (0: this thread alone). */
  readonly workers: number;
}

const WORKER_ENTRY = path.join(__dirname, 'scan-worker.js');

export async function scanLake(job: ScanJob, options: LakeScannerOptions): Promise<ScanResult> {
  const merge = new ScanMerge(options.views);
  const rows = job.files.reduce((sum, f) => sum + f.rows, 0);
  const threads = Math.min(options.workers, job.files.length, Math.floor(rows / Math.max(1, options.minRowsPerWorker)));
  const workerReady = options.lakeSettings !== undefined && options.views.every((v) => catalog.includes(v));
  if (threads <= 1 || !workerReady) {
    merge.addLive(await runScanJob(job, options.contract, options.storage, options.views, options.onProgress));
    return { merge, workers: 0 };
  }

  const queue = new FileQueue(job.files, threads);
  const progress: ScanProgress[] = Array.from({ length: threads }, () => ({ files: 0, records: 0 }));
  const report = (thread: number, p: ScanProgress) => {
    progress[thread] = p;
    options.onProgress?.({ files: progress.reduce((s, x) => s + x.files, 0), records: progress.reduce((s, x) => s + x.records, 0) });
  };
  const workers: Worker[] = [];
  try {
    const inWorkers = Array.from({ length: threads - 1 }, (_, w) => {
      const thread = w + 1;
      return new Promise<EncodedScan>((resolve, reject) => {
        const input: ScanWorkerInput = { job: { ...job, files: [] }, lake: options.lakeSettings as LakeSettings };
        const worker = new Worker(WORKER_ENTRY, { workerData: input });
        workers.push(worker);
        const name = `scan worker ${thread}/${threads - 1}`;
        let settled = false;
        worker.on('message', (m: { type: string; files?: number; records?: number; result?: EncodedScan; message?: string; stack?: string }) => {
          if (m.type === 'next') {
            const entry = queue.take(thread);
            const reply: ToScanWorker = entry === undefined ? { type: 'end' } : { type: 'file', entry };
            worker.postMessage(reply);
          } else if (m.type === 'progress') {
            report(thread, { files: m.files ?? 0, records: m.records ?? 0 });
          } else if (m.type === 'done') {
            settled = true;
            resolve(m.result as EncodedScan);
          } else if (m.type === 'error') {
            settled = true;
            const error = new Error(`${name}: ${m.message}`);
            if (m.stack) error.stack = `${error.message}\n--- in the worker ---\n${m.stack}`;
            reject(error);
          }
        });
        worker.on('error', (error) => {
          settled = true;
          reject(error);
        });
        worker.on('exit', (code) => {
          if (!settled) reject(new Error(`${name} exited with code ${code} before finishing`));
        });
      });
    });
    const here = (async () => {
      const scan = new LakeScan(options.views, job.tasks, job.chunkSize);
      await foldFiles(scan, { contract: options.contract, storage: options.storage, verify: job.verify }, () => queue.take(0), (p) => report(0, p));
      if (queue.isClosed) throw new Error('lake scan abandoned');
      // No file is left for anyone. Told now, a worker folding its last file goes on to write
      // its lines at once, instead of waiting for the answer to its next request, which this
      // thread, writing its own lines below without yielding, would give only afterwards.
      const end: ToScanWorker = { type: 'end' };
      for (const w of workers) w.postMessage(end);
      // Written as COPY lines now, while the workers write theirs: the write phase only streams them.
      return encodeScan(scan.finish());
    })();
    const results = await Promise.all([here, ...inWorkers]);
    for (const r of results) merge.addEncoded(r);
    return { merge, workers: threads };
  } finally {
    // On failure, the other threads stop taking files.
    queue.close();
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/**
 * The files of a scan, handed out one at a time. The files are ordered by their place in
 * their partition's stretch of offsets (so files of different partitions written at about
 * the same time sit together) and cut into one contiguous stretch per thread, of about equal
 * rows. A thread takes the next file of its stretch; once through, the last file of the
 * stretch with the most rows left.
 */
export class FileQueue {
  private readonly stretches: { readonly files: readonly ManifestEntry[]; next: number; end: number; rows: number }[];
  private closed = false;

  constructor(files: readonly ManifestEntry[], threads: number) {
    const ordered = orderByPlace(files);
    const total = ordered.reduce((s, f) => s + weight(f), 0);
    // Stretch t starts at the first file whose middle lies past t / threads of the rows.
    const starts = [0];
    let before = 0;
    for (let i = 0; i < ordered.length && starts.length < threads; i++) {
      if (i > starts[starts.length - 1] && before + weight(ordered[i]) / 2 >= (starts.length * total) / threads) starts.push(i);
      before += weight(ordered[i]);
    }
    while (starts.length < threads) starts.push(ordered.length);
    this.stretches = starts.map((start, t) => {
      const end = t + 1 < starts.length ? starts[t + 1] : ordered.length;
      return { files: ordered, next: start, end, rows: ordered.slice(start, end).reduce((s, f) => s + weight(f), 0) };
    });
  }

  /** The next file for a thread; undefined when none is left (or the scan was abandoned). */
  take(thread: number): ManifestEntry | undefined {
    if (this.closed) return undefined;
    const own = this.stretches[thread];
    if (own !== undefined && own.next < own.end) {
      const file = own.files[own.next++];
      own.rows -= weight(file);
      return file;
    }
    let fullest: (typeof this.stretches)[number] | undefined;
    for (const s of this.stretches) if (s.next < s.end && (fullest === undefined || s.rows > fullest.rows)) fullest = s;
    if (fullest === undefined) return undefined;
    const file = fullest.files[--fullest.end];
    fullest.rows -= weight(file);
    return file;
  }

  close(): void {
    this.closed = true;
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

const weight = (f: ManifestEntry): number => Math.max(1, f.rows);

/** Files by their relative position in their partition's offsets, then partition, then offset. */
function orderByPlace(files: readonly ManifestEntry[]): ManifestEntry[] {
  const span = new Map<number, { low: number; high: number }>();
  for (const f of files) {
    const s = span.get(f.partition);
    if (s === undefined) span.set(f.partition, { low: f.firstOffset, high: f.lastOffset + 1 });
    else {
      s.low = Math.min(s.low, f.firstOffset);
      s.high = Math.max(s.high, f.lastOffset + 1);
    }
  }
  const place = (f: ManifestEntry) => {
    const s = span.get(f.partition) as { low: number; high: number };
    return (f.firstOffset - s.low) / Math.max(1, s.high - s.low);
  };
  return [...files].sort((a, b) => place(a) - place(b) || a.partition - b.partition || a.firstOffset - b.firstOffset);
}
