import { LakeObjectNotFoundError, type LakeStorage } from './lake-storage';
import { manifestEntryPath, manifestPrefix } from './lake-paths';
import { type ManifestEntry, ManifestError, parseManifestEntry, serializeManifestEntry } from './manifest-entry';

/**
 * The manifest: the source of truth of what the lake holds. Data files that no entry of the
 * chain names are not part of the lake, whatever their name.
 *
 * The chain of a partition is a path of entries from offset 0, each starting at the
 * previous one's `nextOffset` (its `fromOffset`): the lake holds exactly the records of the
 * chain's entries and covers the partition up to the chain's end (`coveredUntil`).
 *
 * Normally one archiver member writes a partition and every entry is on the chain. Two
 * writers can overlap for a moment (a member that lost the partition finishing a flush); both
 * write the log's very same records, so any path is correct, and the chain is the path that
 * reaches furthest (ties: the entry that ends first). Appending an entry can therefore only
 * move the end of the chain forward, never back: coverage never shrinks. Entries off the
 * chain ("superseded" when they start where a chain entry starts, "detached" otherwise) are
 * never read; their writer removes them.
 */
export interface PartitionChain {
  readonly partition: number;
  /** The partition's entries on the chain, in offset order. */
  readonly entries: readonly ManifestEntry[];
  /** First offset not covered: the last chain entry's nextOffset, or 0. */
  readonly nextOffset: number;
  /** Off-chain entries that start at the start of a chain entry. */
  readonly superseded: readonly ManifestEntry[];
  /** Off-chain entries whose fromOffset the chain does not pass through. */
  readonly detached: readonly ManifestEntry[];
}

/** Builds the chain of one partition's entries (in any order). */
export function partitionChain(partition: number, entries: readonly ManifestEntry[]): PartitionChain {
  const byFrom = new Map<number, ManifestEntry[]>();
  for (const e of entries) {
    if (e.partition !== partition) throw new ManifestError(`partition ${partition} chain given an entry of partition ${e.partition}`);
    if (e.nextOffset <= e.fromOffset) throw new ManifestError(`manifest entry of p${partition} from ${e.fromOffset} ends at ${e.nextOffset}`);
    const group = byFrom.get(e.fromOffset);
    if (group) group.push(e);
    else byFrom.set(e.fromOffset, [e]);
  }
  // reach(o): the furthest offset a path starting at o gets to; nextOffset > fromOffset
  // makes the entries a DAG, so a pass from the highest start down settles every value.
  const reach = new Map<number, number>();
  const best = new Map<number, ManifestEntry>();
  const reachOf = (offset: number) => reach.get(offset) ?? offset;
  for (const from of [...byFrom.keys()].sort((a, b) => b - a)) {
    const group = byFrom.get(from)!.sort(tieOrder);
    let pick = group[0];
    for (const e of group) if (reachOf(e.nextOffset) > reachOf(pick.nextOffset)) pick = e;
    best.set(from, pick);
    reach.set(from, reachOf(pick.nextOffset));
  }
  const chain: ManifestEntry[] = [];
  const superseded: ManifestEntry[] = [];
  const onChain = new Set<number>();
  for (let at = 0, pick = best.get(0); pick !== undefined; at = pick.nextOffset, pick = best.get(at)) {
    chain.push(pick);
    onChain.add(at);
    for (const e of byFrom.get(at)!) if (e !== pick) superseded.push(e);
  }
  const detached = [...byFrom].filter(([from]) => !onChain.has(from)).flatMap(([, group]) => group).sort(tieOrder);
  return { partition, entries: chain, nextOffset: chain.length > 0 ? chain[chain.length - 1].nextOffset : 0, superseded: superseded.sort(tieOrder), detached };
}

const tieOrder = (a: ManifestEntry, b: ManifestEntry): number =>
  a.fromOffset - b.fromOffset || a.nextOffset - b.nextOffset || a.lastOffset - b.lastOffset || a.firstOffset - b.firstOffset;

/** The manifest of one stream at one moment. */
export interface ManifestSnapshot {
  readonly stream: string;
  /** Chains by partition (only partitions with entries). */
  readonly partitions: ReadonlyMap<number, PartitionChain>;
  /** Every chain entry, sorted by (partition, firstOffset): the lake's content. */
  readonly entries: readonly ManifestEntry[];
}

export type AppendResult =
  /** The entry was written. */
  | { readonly written: true }
  /** An entry already exists at that path (written by an earlier attempt or another writer). */
  | { readonly written: false; readonly existing: ManifestEntry };

export class LakeManifest {
  // Entries are immutable, so each is read once; a listing tells which ones exist now.
  private readonly cache = new Map<string, ManifestEntry>();

  constructor(private readonly storage: LakeStorage) {}

  /** The manifest of a stream as it is now. */
  async snapshot(stream: string): Promise<ManifestSnapshot> {
    const entries = await this.readEntries(manifestPrefix(stream));
    const byPartition = new Map<number, ManifestEntry[]>();
    for (const e of entries) {
      if (e.stream !== stream) throw new ManifestError(`manifest of ${stream} holds an entry of stream ${e.stream}`);
      const list = byPartition.get(e.partition);
      if (list) list.push(e);
      else byPartition.set(e.partition, [e]);
    }
    const partitions = new Map<number, PartitionChain>();
    for (const p of [...byPartition.keys()].sort((a, b) => a - b)) partitions.set(p, partitionChain(p, byPartition.get(p)!));
    return { stream, partitions, entries: [...partitions.values()].flatMap((c) => c.entries) };
  }

  /** The lake's entries of a stream (the chains), sorted by (partition, firstOffset). */
  async load(stream: string): Promise<ManifestEntry[]> {
    return [...(await this.snapshot(stream)).entries];
  }

  /** Per partition, the first offset the lake does not cover yet (partitions without entries are absent: 0). */
  async coveredUntil(stream: string): Promise<Map<number, number>> {
    const snapshot = await this.snapshot(stream);
    return new Map([...snapshot.partitions].map(([p, chain]) => [p, chain.nextOffset]));
  }

  /** The chain of one partition, reading only that partition's entries. */
  async partition(stream: string, partition: number): Promise<PartitionChain> {
    return partitionChain(partition, await this.readEntries(manifestPrefix(stream, partition)));
  }

  /**
   * Appends an entry if no entry exists at its path; never overwrites. Write the data file
   * first: the entry must never name a file that is not complete.
   */
  async append(entry: ManifestEntry): Promise<AppendResult> {
    const path = manifestEntryPath({ stream: entry.stream, partition: entry.partition, firstOffset: entry.firstOffset, lastOffset: entry.lastOffset });
    if (await this.storage.create(path, serializeManifestEntry(entry))) {
      this.cache.set(path, entry);
      return { written: true };
    }
    return { written: false, existing: parseManifestEntry(path, await this.storage.get(path)) };
  }

  /** Removes an off-chain entry (only its writer does this; see partitionChain). */
  async remove(entry: ManifestEntry): Promise<void> {
    const path = manifestEntryPath({ stream: entry.stream, partition: entry.partition, firstOffset: entry.firstOffset, lastOffset: entry.lastOffset });
    await this.storage.delete(path);
    this.cache.delete(path);
  }

  private async readEntries(prefix: string): Promise<ManifestEntry[]> {
    const paths = (await this.storage.list(prefix)).filter((p) => p.endsWith('.json'));
    const listed = new Set(paths);
    for (const cached of this.cache.keys()) if (cached.startsWith(prefix) && !listed.has(cached)) this.cache.delete(cached);
    const missing = paths.filter((p) => !this.cache.has(p));
    // A few requests at a time: object stores answer small reads in parallel well.
    for (let i = 0; i < missing.length; i += 16) {
      const batch = missing.slice(i, i + 16);
      const read = await Promise.all(batch.map(async (p) => [p, await this.readEntry(p)] as const));
      for (const [p, e] of read) if (e) this.cache.set(p, e);
    }
    return paths.flatMap((p) => this.cache.get(p) ?? []);
  }

  private async readEntry(path: string): Promise<ManifestEntry | undefined> {
    try {
      return parseManifestEntry(path, await this.storage.get(path));
    } catch (error) {
      // Listed, then removed by its writer as superseded: it is no longer part of the manifest.
      if (error instanceof LakeObjectNotFoundError) return undefined;
      throw error;
    }
  }
}
