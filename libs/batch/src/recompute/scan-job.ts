import type { StreamContract } from '@tandem/contracts';
import { type LakeStorage, type ManifestEntry, readLakeEntry } from '@tandem/platform';
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
  const read = (entry: ManifestEntry) => readLakeEntry(storage, contract, entry, { verify: job.verify });
  let next = job.files.length > 0 ? read(job.files[0]) : undefined;
  for (let i = 0; i < job.files.length; i++) {
    const records = await (next as ReturnType<typeof read>);
    next = i + 1 < job.files.length ? read(job.files[i + 1]) : undefined;
    for (const r of records) scan.add(r.partition, r.offset, r.event);
    scan.fileDone();
    onProgress?.(scan.progress);
  }
  return scan.finish();
}
