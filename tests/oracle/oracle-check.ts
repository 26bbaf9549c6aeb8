import { type AnyView, canonicalJson, type Json } from '@tandem/transforms';
import { cellKey, type ExpectedCell } from './oracle';
import type { ServedPoint } from './served-answers';

export interface Mismatch {
  readonly view: string;
  readonly key: string;
  readonly bucket: number | null;
  readonly what: string;
  readonly context: string;
}

/** Counts of one run's comparisons; a comparison is one cell (key, bucket) with all its aggregates. */
export class CheckTally {
  comparisons = 0;
  readonly mismatches: Mismatch[] = [];

  /**
   * Compares a key's served points with its expected cells: the same buckets, and in each the
   * same presented value of every aggregate, with no tolerance.
   */
  compareKey(view: AnyView, key: string, served: readonly ServedPoint[] | null, expected: readonly ExpectedCell[], context: string): void {
    const byBucket = new Map((served ?? []).map((p) => [p.bucketStart, p]));
    for (const cell of expected) {
      this.comparisons++;
      const point = byBucket.get(cell.bucket);
      byBucket.delete(cell.bucket);
      if (!point) {
        this.mismatches.push({ view: view.name, key, bucket: cell.bucket, what: `missing from serving; expected ${JSON.stringify(cell.values)}`, context });
        continue;
      }
      for (const [name, value] of Object.entries(cell.values)) {
        if (!sameJson(point.values[name], value)) {
          this.mismatches.push({ view: view.name, key, bucket: cell.bucket, what: `${name}: served ${JSON.stringify(point.values[name])}, expected ${JSON.stringify(value)}`, context });
        }
      }
    }
    for (const extra of byBucket.values()) {
      this.comparisons++;
      this.mismatches.push({ view: view.name, key, bucket: extra.bucketStart, what: `served ${JSON.stringify(extra.values)} where no accepted event falls`, context });
    }
  }

  /** A difference that is not about one cell (key sets, log contents, conformity). */
  fail(view: string, what: string, context: string): void {
    this.mismatches.push({ view, key: '', bucket: null, what, context });
  }
}

/** Expected cells grouped by key. */
export function cellsByKey(cells: ReadonlyMap<string, ExpectedCell>): Map<string, ExpectedCell[]> {
  const out = new Map<string, ExpectedCell[]>();
  for (const cell of cells.values()) {
    let list = out.get(cell.key);
    if (!list) out.set(cell.key, (list = []));
    list.push(cell);
  }
  return out;
}

export { cellKey };

/**
 * Equality of JSON values with no tolerance, key order aside. Not node:util's deep equality:
 * answers parsed by fetch are objects of another realm than the test's under Jest's VM.
 */
export const sameJson = (a: unknown, b: unknown): boolean => canonicalJson((a ?? null) as Json) === canonicalJson((b ?? null) as Json);
