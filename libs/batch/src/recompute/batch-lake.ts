import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { StreamContract } from '@tandem/contracts';
import { type LakeSettings, type LakeStorage, LakeManifest, type ManifestEntry, type ManifestSnapshot } from '@tandem/platform';

/**
 * What a batch run reads of the lake: a manifest snapshot per stream (the chains of entries,
 * and per partition how far they reach contiguously from offset 0), then the data files of
 * the entries it needs.
 */
export interface LakeView {
  readonly stream: StreamContract;
  readonly snapshot: ManifestSnapshot;
  /** Per partition, the first offset the lake does not cover. */
  readonly coverage: Map<number, number>;
}

export async function viewLake(manifest: LakeManifest, stream: StreamContract): Promise<LakeView> {
  const snapshot = await manifest.snapshot(stream.name);
  const coverage = new Map([...snapshot.partitions].map(([p, chain]) => [p, chain.nextOffset]));
  return { stream, snapshot, coverage };
}

/** The lineage record of a manifest snapshot: enough to tell later exactly what a run read. */
export interface ManifestLineage {
  readonly stream: string;
  readonly entries: number;
  readonly files: number;
  readonly rows: number;
  readonly bytes: number;
  /** Per partition, the next offset the snapshot covers. */
  readonly coveredUntil: Record<string, number>;
  readonly lastWrittenAt: string | null;
  /** SHA-256 over the entries' files and checksums, in chain order. */
  readonly digest: string;
}

export function manifestLineage(lake: LakeView): ManifestLineage {
  const hash = createHash('sha256');
  let files = 0;
  let rows = 0;
  let bytes = 0;
  let lastWrittenAt: string | null = null;
  for (const e of lake.snapshot.entries) {
    hash.update(`${e.partition}:${e.fromOffset}:${e.nextOffset}:${e.file ?? '-'}:${e.sha256 ?? '-'}:${e.recordsChecksum}\n`);
    if (e.file !== null) files++;
    rows += e.rows;
    bytes += e.bytes;
    if (lastWrittenAt === null || e.writtenAt > lastWrittenAt) lastWrittenAt = e.writtenAt;
  }
  return {
    stream: lake.stream.name,
    entries: lake.snapshot.entries.length,
    files,
    rows,
    bytes,
    coveredUntil: Object.fromEntries([...lake.coverage].map(([p, o]) => [String(p), o])),
    lastWrittenAt,
    digest: hash.digest('hex'),
  };
}

/** Entries with a data file holding offsets in `[from, to)` of their partition for some range. */
export function entriesToRead(entries: readonly ManifestEntry[], ranges: ReadonlyMap<number, readonly [number, number]>): ManifestEntry[] {
  return entries.filter((e) => {
    if (e.file === null || e.rows === 0) return false;
    const r = ranges.get(e.partition);
    return r !== undefined && e.firstOffset < r[1] && e.lastOffset >= r[0];
  });
}

/**
 * How a worker thread opens the same lake. A storage object cannot cross a thread boundary;
 * its settings can. A local lake's settings follow from its location; other storages need
 * them given, or the scan stays in the calling thread.
 */
export function workerLakeSettings(storage: LakeStorage, given?: LakeSettings): LakeSettings | undefined {
  if (given) return given;
  if (!storage.location.startsWith('file:')) return undefined;
  return { LAKE_DIR: fileURLToPath(storage.location), LAKE_AZURE_CONTAINER: 'tandem-lake', LAKE_AZURE_PREFIX: '' };
}
