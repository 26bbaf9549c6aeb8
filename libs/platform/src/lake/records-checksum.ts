import { createHash } from 'node:crypto';
import { canonicalJson, type Json } from '@tandem/transforms';

/**
 * An order-independent checksum of a set of log records, to prove that the lake holds
 * exactly the log's valid records: neither one missing nor one twice.
 *
 *   recordHash(r) = first 8 bytes, big-endian, of SHA-256("<partition>:<offset>:<canonical JSON of the event>")
 *   checksum(S)   = sum of recordHash(r) over S, modulo 2^64, as 16 lower-case hex digits
 *
 * A sum (unlike an xor) does not cancel a record counted twice, and sums of disjoint sets
 * add up, so per-file checksums combine into the checksum of a partition or a stream.
 * Canonical JSON sorts object keys (the algebra's `canonicalJson`), so any reader that
 * rebuilds the event, whatever its field order, gets the same hash; docs/lake.md shows the
 * same computation in DuckDB.
 */
const MOD = 1n << 64n;

export function recordHash(partition: number, offset: number, event: unknown): bigint {
  const digest = createHash('sha256').update(`${partition}:${offset}:${canonicalJson(event as Json)}`).digest();
  return digest.readBigUInt64BE(0);
}

export class RecordsChecksum {
  private sum = 0n;
  private count = 0;

  add(partition: number, offset: number, event: unknown): this {
    this.sum = (this.sum + recordHash(partition, offset, event)) % MOD;
    this.count++;
    return this;
  }

  /** Adds a checksum computed elsewhere (e.g. a manifest entry's). */
  merge(checksum: string, records = 0): this {
    this.sum = (this.sum + parseChecksum(checksum)) % MOD;
    this.count += records;
    return this;
  }

  get records(): number {
    return this.count;
  }

  toString(): string {
    return this.sum.toString(16).padStart(16, '0');
  }
}

export const EMPTY_CHECKSUM = '0000000000000000';

/** Sum of checksums of disjoint record sets. */
export const combineChecksums = (checksums: Iterable<string>): string => {
  const total = new RecordsChecksum();
  for (const c of checksums) total.merge(c);
  return total.toString();
};

function parseChecksum(checksum: string): bigint {
  if (!/^[0-9a-f]{16}$/.test(checksum)) throw new RangeError(`records checksum must be 16 lower-case hex digits, got ${JSON.stringify(checksum)}`);
  return BigInt(`0x${checksum}`);
}
