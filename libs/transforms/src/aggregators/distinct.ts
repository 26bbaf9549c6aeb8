import { aggregator, type Aggregator, type Json, StateDecodeError } from '../algebra/aggregator';
import { murmur3 } from '../algebra/hash';

/**
 * Distinct count with HyperLogLog (Flajolet et al. 2007; small-range correction by linear
 * counting as in Heule et al. 2013), hashing with MurmurHash3 (algebra/hash.ts).
 *
 * The state is the register array; `plus` is the register-wise maximum, so merging is exact:
 * the sketch of a union equals the merge of the sketches, whatever the split. Two
 * independent 32-bit hashes per item give the register index (first hash) and
 * the rank (second hash), i.e. 32 + p hash bits, so no large-range correction is needed at
 * the cardinalities a view sees. Standard error is 1.04 / sqrt(2^p).
 *
 * No well-kept npm HyperLogLog package keeps a mergeable, serialisable state; the algorithm
 * is small enough to own.
 */
export interface DistinctOptions {
  /** log2 of the register count, 4..16; default 12 (4096 registers, ~1.6% standard error). */
  readonly precision?: number;
}

/**
 * Registers are kept sparse (index -> rank) while few are set, as in HLL++ (Heule et al.
 * 2013): most cells of a fine-grained view see a handful of values, and a dense array would
 * cost 2^p bytes per cell. Past `m / 8` set registers the state turns dense for good.
 * Sparse and dense states of equal registers are the same state: encoding is canonical.
 */
export interface HllState {
  readonly precision: number;
  sparse: Map<number, number> | null;
  dense: Uint8Array | null;
}

const INDEX_SEED = 0x5f3759df;
const RANK_SEED = 0x2545f491;

export function hllRegisterOf(value: string, precision: number): [index: number, rank: number] {
  const index = murmur3(value, INDEX_SEED) >>> (32 - precision);
  const rank = Math.clz32(murmur3(value, RANK_SEED)) + 1;
  return [index, rank];
}

/** Dense registers of a state (a fresh array for a sparse one). */
export function hllRegisters(state: HllState): Uint8Array {
  if (state.dense) return state.dense;
  const r = new Uint8Array(2 ** state.precision);
  for (const [i, rank] of state.sparse!) r[i] = rank;
  return r;
}

export function hllEstimate(state: HllState): number {
  const m = 2 ** state.precision;
  let harmonic = 0;
  let zeros = 0;
  if (state.dense) {
    for (let i = 0; i < m; i++) {
      const r = state.dense[i];
      harmonic += 2 ** -r;
      if (r === 0) zeros++;
    }
  } else {
    zeros = m - state.sparse!.size;
    harmonic = zeros;
    for (const r of state.sparse!.values()) harmonic += 2 ** -r;
  }
  const alpha = m === 16 ? 0.673 : m === 32 ? 0.697 : m === 64 ? 0.709 : 0.7213 / (1 + 1.079 / m);
  const raw = (alpha * m * m) / harmonic;
  if (raw <= 2.5 * m && zeros > 0) return m * Math.log(m / zeros);
  return raw;
}

/** Standard error of an HLL of this precision. */
export const hllStandardError = (precision: number): number => 1.04 / Math.sqrt(2 ** precision);

function setRegister(s: HllState, index: number, rank: number, m: number): void {
  if (s.dense) {
    if (rank > s.dense[index]) s.dense[index] = rank;
    return;
  }
  const sparse = s.sparse!;
  const cur = sparse.get(index);
  if (cur === undefined) {
    sparse.set(index, rank);
    if (sparse.size > m >>> 3) {
      s.dense = hllRegisters(s);
      s.sparse = null;
    }
  } else if (rank > cur) {
    sparse.set(index, rank);
  }
}

/** Approximate number of distinct values of a field (strings or numbers). */
export function distinct<E>(of: (event: E) => string | number | null | undefined, options: DistinctOptions = {}): Aggregator<E, HllState, number> {
  const precision = options.precision ?? 12;
  if (!Number.isInteger(precision) || precision < 4 || precision > 16) {
    throw new RangeError(`distinct: precision must be an integer in 4..16, got ${precision}`);
  }
  const m = 2 ** precision;
  const zero = (): HllState => ({ precision, sparse: new Map(), dense: null });
  const add = (acc: HllState, e: E): HllState => {
    const v = of(e);
    if (v === null || v === undefined) return acc;
    const [index, rank] = hllRegisterOf(String(v), precision);
    setRegister(acc, index, rank, m);
    return acc;
  };
  const check = (s: HllState) => {
    if (s.precision !== precision) {
      throw new RangeError(`distinct: cannot merge precision ${s.precision} into ${precision}`);
    }
  };
  const plusInto = (acc: HllState, b: HllState): HllState => {
    check(b);
    if (b.sparse) {
      for (const [i, r] of b.sparse) setRegister(acc, i, r, m);
      return acc;
    }
    if (!acc.dense) {
      acc.dense = hllRegisters(acc);
      acc.sparse = null;
    }
    const r = acc.dense;
    const o = b.dense!;
    for (let i = 0; i < m; i++) if (o[i] > r[i]) r[i] = o[i];
    return acc;
  };
  const copy = (a: HllState): HllState => ({ precision, sparse: a.sparse ? new Map(a.sparse) : null, dense: a.dense ? a.dense.slice() : null });
  return aggregator<E, HllState, number>({
    kind: 'distinct',
    params: { precision },
    zero,
    lift: (e) => add(zero(), e),
    plus: (a, b) => {
      check(a);
      return plusInto(copy(a), b);
    },
    add,
    plusInto,
    present: (s) => Math.round(hllEstimate(s)),
    encode: (s) => encodeHll(s),
    decode: (j) => {
      const s = decodeHll(j);
      check(s);
      return s;
    },
  });
}

/**
 * Canonical encoding: sparse `{p, s}` (base64 of 3-byte index/rank triples in index order)
 * while fewer than a sixth of the registers are set, dense `{p, d}` otherwise — decided by
 * the registers alone, never by the in-memory representation.
 */
export function encodeHll(s: HllState): Json {
  const m = 2 ** s.precision;
  let entries: [number, number][];
  if (s.sparse) {
    entries = [...s.sparse].sort((a, b) => a[0] - b[0]);
  } else {
    entries = [];
    const d = s.dense!;
    for (let i = 0; i < m; i++) if (d[i] !== 0) entries.push([i, d[i]]);
  }
  if (entries.length * 6 < m) {
    const bytes = Buffer.allocUnsafe(entries.length * 3);
    let o = 0;
    for (const [i, r] of entries) {
      bytes[o] = i >>> 8;
      bytes[o + 1] = i & 0xff;
      bytes[o + 2] = r;
      o += 3;
    }
    return { p: s.precision, s: bytes.toString('base64') };
  }
  const d = hllRegisters(s);
  return { p: s.precision, d: Buffer.from(d.buffer, d.byteOffset, m).toString('base64') };
}

export function decodeHll(j: Json): HllState {
  if (j === null || typeof j !== 'object' || Array.isArray(j)) {
    throw new StateDecodeError(`distinct: expected {p, s|d}, got ${JSON.stringify(j)}`);
  }
  const o = j as { readonly [k: string]: Json };
  const precision = o['p'];
  if (typeof precision !== 'number' || !Number.isInteger(precision) || precision < 4 || precision > 16) {
    throw new StateDecodeError(`distinct: bad precision ${JSON.stringify(precision)}`);
  }
  const m = 2 ** precision;
  if (typeof o['d'] === 'string') {
    const bytes = Buffer.from(o['d'], 'base64');
    if (bytes.length !== m) throw new StateDecodeError(`distinct: dense registers have ${bytes.length} bytes, expected ${m}`);
    return { precision, sparse: null, dense: new Uint8Array(bytes) };
  }
  if (typeof o['s'] === 'string') {
    const bytes = Buffer.from(o['s'], 'base64');
    if (bytes.length % 3 !== 0) throw new StateDecodeError('distinct: sparse registers are not index/rank triples');
    const state: HllState = { precision, sparse: new Map(), dense: null };
    for (let i = 0; i < bytes.length; i += 3) {
      const index = (bytes[i] << 8) | bytes[i + 1];
      if (index >= m) throw new StateDecodeError(`distinct: register index ${index} out of range`);
      setRegister(state, index, bytes[i + 2], m);
    }
    return state;
  }
  throw new StateDecodeError('distinct: state has neither sparse (s) nor dense (d) registers');
}
