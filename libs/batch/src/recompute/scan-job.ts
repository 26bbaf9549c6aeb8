import type { StreamContract } from '@tandem/contracts';
import { type LakeStorage, type ManifestEntry, readLakeEntryColumns, visitLakeEvents } from '@tandem/platform/lake';
import { type AnyView, viewByName } from '@tandem/transforms';
import { LakeScan, type ScanOutput, type ScanProgress, type ScanTask } from './lake-scan';

/**
 * One shard of a lake scan: some data files of one stream, the views to fold them into and
 * each view's offset ranges. Plain data, so it can be handed to a worker thread or, in a
 * sharded deployment, derived independently by each pod.
 */
export interface ScanJob {
  readonly stream: string;
  /** Views by name, with the transform version the caller expects (checked where resolved). */
  readonly views: readonly { readonly name: string; readonly transformVersion: string }[];
  readonly tasks: readonly ScanTask[];
  readonly chunkSize: number;
  readonly files: readonly ManifestEntry[];
  /** Check every file against its manifest entry (size, SHA-256, rows). */
  readonly verify: boolean;
}

/** Resolves a job's views from the catalog, refusing a transform version other than the caller's. */
export function catalogViewsOf(job: ScanJob): AnyView[] {
  return job.views.map(({ name, transformVersion }) => {
    const view = viewByName(name);
    if (view.transformVersion !== transformVersion) {
      throw new RangeError(`view ${name}: this code computes transform version ${view.transformVersion}, the run expects ${transformVersion}`);
    }
    return view;
  });
}

/** Reads and folds a job's files, one ahead of the fold so reading overlaps computing. */
export async function runScanJob(
  job: ScanJob,
  contract: StreamContract,
  storage: LakeStorage,
  views: readonly AnyView[],
  onProgress?: (progress: ScanProgress) => void,
): Promise<ScanOutput> {
  const scan = new LakeScan(views, job.tasks, job.chunkSize);
  let i = 0;
  await foldFiles(scan, { contract, storage, verify: job.verify }, () => job.files[i++], onProgress);
  return scan.finish();
}

export interface FileSource {
  readonly contract: StreamContract;
  readonly storage: LakeStorage;
  readonly verify: boolean;
}

/**
 * Folds files into a scan as `nextFile` hands them out (undefined: no more), reading the next
 * file while the current one is folded.
 */
export async function foldFiles(
  scan: LakeScan,
  source: FileSource,
  nextFile: () => ManifestEntry | undefined | Promise<ManifestEntry | undefined>,
  onProgress?: (progress: ScanProgress) => void,
): Promise<void> {
  const { contract, storage, verify } = source;
  const read = async () => {
    const entry = await nextFile();
    if (entry === undefined) return { done: true as const };
    return { done: false as const, file: await readLakeEntryColumns(storage, contract, entry, { verify }) };
  };
  let next = read();
  for (;;) {
    const current = await next;
    if (current.done) return;
    next = read();
    // Rejected while this file is folded: the loop awaits it right after.
    next.catch(() => undefined);
    const file = current.file;
    if (file !== undefined) {
      const partition = file.partition;
      // One event object for the whole file (visitLakeEvents): the views only read it.
      visitLakeEvents(contract, file, (offset, event) => scan.add(partition, offset, event));
    }
    scan.fileDone();
    onProgress?.(scan.progress);
  }
}
