/**
 * A least-recently-used cache of decoded batch parts. A batch version's table never changes
 * once it is current (a new run writes a new version), so a part read from it stays right
 * for as long as that version is served; the cache key names the version, and parts of an
 * old version simply stop being asked for and age out.
 *
 * Bounded twice: by entries, and by weight (stored rows held), so one huge top-N range
 * cannot pin the heap. Map iteration order is insertion order, which makes it an LRU list.
 */
export interface BatchPartCacheOptions {
  /** Most parts held; 0 disables the cache. */
  readonly maxEntries: number;
  /** Most stored rows held across all parts. */
  readonly maxWeight: number;
}

export interface CacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly entries: number;
  readonly weight: number;
}

export class BatchPartCache<V> {
  private readonly entries = new Map<string, { readonly value: V; readonly weight: number }>();
  private weight = 0;
  private hits = 0;
  private misses = 0;

  constructor(private readonly options: BatchPartCacheOptions) {}

  get enabled(): boolean {
    return this.options.maxEntries > 0 && this.options.maxWeight > 0;
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Re-insert: most recently used goes last.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V, weight: number): void {
    if (!this.enabled || weight > this.options.maxWeight) return;
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.entries.delete(key);
      this.weight -= old.weight;
    }
    this.entries.set(key, { value, weight });
    this.weight += weight;
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.options.maxEntries && this.weight <= this.options.maxWeight) break;
      this.entries.delete(k);
      this.weight -= e.weight;
    }
  }

  clear(): void {
    this.entries.clear();
    this.weight = 0;
  }

  stats(): CacheStats {
    return { hits: this.hits, misses: this.misses, entries: this.entries.size, weight: this.weight };
  }
}
