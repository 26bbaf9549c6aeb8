import { aggregator, type Aggregator, type Json, StateDecodeError } from '../algebra/aggregator';
import { murmur3, murmur3Pair } from '../algebra/hash';
import type { JsonWriter } from '../algebra/json-text';

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
 * Registers are kept sparse while few are set, as in HLL++ (Heule et al. 2013): most cells
 * of a fine-grained view see a handful of values, and a dense array would cost 2^p bytes per
 * cell. The sparse form is one array of `index << 8 | rank` (a rank is one byte, as in the
 * encoding) in index order: a few bytes per register, found by binary search, already in
 * the order the encoding writes. Past `m / 8` set registers the state turns dense for good.
 * Sparse and dense states of equal registers are the same state: encoding is canonical.
 */
export interface HllState {
  readonly precision: number;
  sparse: number[] | null;
  dense: Uint8Array | null;
}

const INDEX_SEED = 0x5f3759df;
const RANK_SEED = 0x2545f491;
const RANK_BITS = 8;
const RANK_MASK = (1 << RANK_BITS) - 1;

export function hllRegisterOf(value: string, precision: number): [index: number, rank: number] {
  const index = murmur3(value, INDEX_SEED) >>> (32 - precision);
  const rank = Math.clz32(murmur3(value, RANK_SEED)) + 1;
  return [index, rank];
}

/** The register a value sets, packed as `index << 8 | rank`: `hllRegisterOf` in one hashing pass. */
function packedRegisterOf(value: string, precision: number): number {
  murmur3Pair(value, INDEX_SEED, RANK_SEED, hashes);
  return ((hashes[0] >>> (32 - precision)) << RANK_BITS) | (Math.clz32(hashes[1]) + 1);
}
const hashes = new Uint32Array(2);

/** Dense registers of a state (a fresh array for a sparse one). */
export function hllRegisters(state: HllState): Uint8Array {
  if (state.dense) return state.dense;
  const r = new Uint8Array(2 ** state.precision);
  for (const p of state.sparse!) r[p >>> RANK_BITS] = p & RANK_MASK;
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
    // Sums of 2^-rank and at most 2^16 ones are exact in doubles: the order does not matter.
    zeros = m - state.sparse!.length;
    harmonic = zeros;
    for (const p of state.sparse!) harmonic += 2 ** -(p & RANK_MASK);
  }
  const alpha = m === 16 ? 0.673 : m === 32 ? 0.697 : m === 64 ? 0.709 : 0.7213 / (1 + 1.079 / m);
  const raw = (alpha * m * m) / harmonic;
  if (raw <= 2.5 * m && zeros > 0) return m * Math.log(m / zeros);
  return raw;
}

/** Standard error of an HLL of this precision. */
export const hllStandardError = (precision: number): number => 1.04 / Math.sqrt(2 ** precision);

/**
 * The sparse registers of every state that has none, shared: an empty sparse array is never
 * written to, since adding a register copies it (see setRegister).
 */
const NO_REGISTERS: number[] = [];

/** Sparse arrays shorter than this grow by exact copies (see setRegister). */
const EXACT_UP_TO = 32;

/** Raises register `packed >>> 8` to rank `packed & 0xff` if higher. */
function setRegister(s: HllState, packed: number, m: number): void {
  const index = packed >>> RANK_BITS;
  if (s.dense) {
    const rank = packed & RANK_MASK;
    if (rank > s.dense[index]) s.dense[index] = rank;
    return;
  }
  const sparse = s.sparse!;
  // First entry at or after this index (entries are ordered by index, ranks in the low bits).
  const target = index << RANK_BITS;
  let lo = 0;
  let hi = sparse.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sparse[mid] < target) lo = mid + 1;
    else hi = mid;
  }
  const n = sparse.length;
  if (lo < n && sparse[lo] >>> RANK_BITS === index) {
    if (packed > sparse[lo]) sparse[lo] = packed;
    return;
  }
  if (n + 1 > m >>> 3) {
    const dense = hllRegisters(s);
    dense[index] = packed & RANK_MASK;
    s.dense = dense;
    s.sparse = null;
    return;
  }
  if (n >= EXACT_UP_TO) {
    sparse.push(packed);
    for (let j = n; j > lo; j--) sparse[j] = sparse[j - 1];
    sparse[lo] = packed;
    return;
  }
  // Copied at its exact new size while small: an array grown by push keeps room for 16 more
  // registers, which would double a cell's state (every cell's state lives until written).
  const grown: number[] = new Array(n + 1);
  for (let j = 0; j < lo; j++) grown[j] = sparse[j];
  grown[lo] = packed;
  for (let j = lo; j < n; j++) grown[j + 1] = sparse[j];
  s.sparse = grown;
}

/** Approximate number of distinct values of a field (strings or numbers). */
export function distinct<E>(of: (event: E) => string | number | null | undefined, options: DistinctOptions = {}): Aggregator<E, HllState, number> {
  const precision = options.precision ?? 12;
  if (!Number.isInteger(precision) || precision < 4 || precision > 16) {
    throw new RangeError(`distinct: precision must be an integer in 4..16, got ${precision}`);
  }
  const m = 2 ** precision;
  const zero = (): HllState => ({ precision, sparse: NO_REGISTERS, dense: null });
  const add = (acc: HllState, e: E): HllState => {
    const v = of(e);
    if (v === null || v === undefined) return acc;
    // Hashing a short value twice costs about what finding it in a memo would (measured on
    // flights' airports), so values are hashed each time.
    setRegister(acc, packedRegisterOf(String(v), precision), m);
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
      for (const p of b.sparse) setRegister(acc, p, m);
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
  const copy = (a: HllState): HllState => ({ precision, sparse: a.sparse ? a.sparse.slice() : null, dense: a.dense ? a.dense.slice() : null });
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
    writeJson: (s, out) => {
      writeHll(s, out);
      return true;
    },
    decode: (j) => {
      const s = decodeHll(j);
      check(s);
      return s;
    },
  });
}

/** Scratch bytes for encoding (one encoding at a time: encoding is synchronous). */
let scratch = Buffer.allocUnsafe(1024);

function scratchOf(bytes: number): Buffer {
  if (scratch.length < bytes) scratch = Buffer.allocUnsafe(Math.max(bytes, scratch.length * 2));
  return scratch;
}

/**
 * Canonical encoding: sparse `{p, s}` (base64 of 3-byte index/rank triples in index order)
 * while fewer than a sixth of the registers are set, dense `{p, d}` otherwise — decided by
 * the registers alone, never by the in-memory representation.
 */
export function encodeHll(s: HllState): Json {
  const bytes = registerBytes(s);
  const buffer = bytes.buffer;
  const base64 = Buffer.isBuffer(buffer) ? buffer.toString('base64', 0, bytes.length) : Buffer.from(buffer.buffer, buffer.byteOffset, bytes.length).toString('base64');
  return bytes.dense ? { p: s.precision, d: base64 } : { p: s.precision, s: base64 };
}

/** Writes `JSON.stringify(encodeHll(s))`. */
export function writeHll(s: HllState, out: JsonWriter): void {
  const bytes = registerBytes(s);
  out.raw('{"p":');
  out.number(s.precision);
  out.raw(bytes.dense ? ',"d":"' : ',"s":"');
  out.base64(bytes.buffer, 0, bytes.length);
  out.raw('"}');
}

/**
 * The bytes the encoding holds in base64: index/rank triples in index order while fewer
 * than a sixth of the registers are set (sparse), else every register (dense). Sparse
 * triples are written into the shared scratch buffer; dense registers are the state's own.
 */
function registerBytes(s: HllState): { readonly dense: boolean; readonly buffer: Uint8Array; readonly length: number } {
  const m = 2 ** s.precision;
  const sparse = s.sparse;
  if (sparse) {
    // At most m / 8 registers are ever sparse, under the m / 6 that encodes dense.
    const bytes = scratchOf(sparse.length * 3);
    let o = 0;
    for (let j = 0; j < sparse.length; j++) {
      const p = sparse[j];
      const i = p >>> RANK_BITS;
      bytes[o] = i >>> 8;
      bytes[o + 1] = i & 0xff;
      bytes[o + 2] = p & RANK_MASK;
      o += 3;
    }
    return { dense: false, buffer: bytes, length: o };
  }
  const d = s.dense!;
  let set = 0;
  for (let i = 0; i < m; i++) if (d[i] !== 0) set++;
  if (set * 6 >= m) return { dense: true, buffer: d, length: m };
  const bytes = scratchOf(set * 3);
  let o = 0;
  for (let i = 0; i < m; i++) {
    if (d[i] === 0) continue;
    bytes[o] = i >>> 8;
    bytes[o + 1] = i & 0xff;
    bytes[o + 2] = d[i];
    o += 3;
  }
  return { dense: false, buffer: bytes, length: o };
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
    const state: HllState = { precision, sparse: NO_REGISTERS, dense: null };
    for (let i = 0; i < bytes.length; i += 3) {
      const index = (bytes[i] << 8) | bytes[i + 1];
      if (index >= m) throw new StateDecodeError(`distinct: register index ${index} out of range`);
      setRegister(state, (index << RANK_BITS) | bytes[i + 2], m);
    }
    return state;
  }
  throw new StateDecodeError('distinct: state has neither sparse (s) nor dense (d) registers');
}
