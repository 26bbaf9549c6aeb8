import { ConfigError } from '@tandem/platform';

/**
 * Splitting a lake scan: by data file, never inside one. Every file lands in exactly one
 * shard, so the shards' cells merge with `plus` into the cells of the whole scan (the
 * split-merge law of the algebra), whatever the assignment.
 *
 * The assignment is deterministic (a function of the file list alone), so independent
 * processes — worker threads here, or the pods of a Kubernetes Indexed Job, each told its
 * `JOB_COMPLETION_INDEX` — agree on it without talking to each other.
 */
export interface ShardableFile {
  /** The file's path; entries without a file hold no rows and go nowhere in particular. */
  readonly file: string | null;
  /** Work estimate, e.g. row count. */
  readonly rows: number;
}

/**
 * Longest-processing-time-first: files by decreasing size (name breaks ties), each to the
 * least loaded shard (lowest index breaks ties). Within 4/3 of the best balance.
 */
export function assignShards<F extends ShardableFile>(files: readonly F[], shards: number): F[][] {
  if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`shard count must be a positive integer, got ${shards}`);
  const name = (f: F) => f.file ?? '';
  const ordered = [...files].sort((a, b) => b.rows - a.rows || (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
  const out: F[][] = Array.from({ length: shards }, () => []);
  const load = new Array<number>(shards).fill(0);
  for (const f of ordered) {
    let best = 0;
    for (let i = 1; i < shards; i++) if (load[i] < load[best]) best = i;
    out[best].push(f);
    load[best] += Math.max(1, f.rows);
  }
  return out;
}

/** One process's share of a sharded run: shard `index` of `count`. */
export interface ShardSpec {
  readonly index: number;
  readonly count: number;
}

/** Parses `i/n` (0 <= i < n), as given by `--shard` or `BATCH_SHARD`. */
export function parseShard(text: string): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) {
    throw new ConfigError([`shard: expected i/n with 0 <= i < n, got ${JSON.stringify(text)}`]);
  }
  return { index, count };
}

/** The files shard `spec` handles. */
export const filesOfShard = <F extends ShardableFile>(files: readonly F[], spec: ShardSpec): F[] => assignShards(files, spec.count)[spec.index];
