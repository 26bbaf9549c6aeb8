import murmurhash from 'murmurhash';
import { aggregator, type Aggregator, type Json, StateDecodeError } from '../algebra/aggregator';

/**
 * Distinct count with HyperLogLog (Flajolet et al. 2007; small-range correction by linear
 * counting as in Heule et al. 2013).
 *
 * The state is the register array; `plus` is the register-wise maximum, so merging is exact:
 * the sketch of a union equals the merge of the sketches, whatever the split. Two
 * independent 32-bit MurmurHash3 values per item give the register index (first hash) and
 * the rank (second hash), i.e. 32 + p hash bits, so no large-range correction is needed at
 * the cardinalities a view sees. Standard error is 1.04 / sqrt(2^p).
 *
 * No npm HyperLogLog package keeps a mergeable, serialisable state with a pure-JS hash;
 * the algorithm is small enough to own.
 */
export interface DistinctOptions {
  /** log2 of the register count, 4..16; default 12 (4096 registers, ~1.6% standard error). */
  readonly precision?: number;
}

export interface HllState {
  readonly precision: number;
  readonly registers: Uint8Array;
}

const INDEX_SEED = 0x5f3759df;
const RANK_SEED = 0x2545f491;

export function hllRegisterOf(value: string, precision: number): [index: number, rank: number] {
  const index = murmurhash.v3(value, INDEX_SEED) >>> (32 - precision);
  const rank = Math.clz32(murmurhash.v3(value, RANK_SEED)) + 1;
  return [index, rank];
}

export function hllEstimate(state: HllState): number {
  const m = state.registers.length;
  let harmonic = 0;
  let zeros = 0;
  for (let i = 0; i < m; i++) {
    const r = state.registers[i];
    harmonic += 2 ** -r;
    if (r === 0) zeros++;
  }
  const alpha = m === 16 ? 0.673 : m === 32 ? 0.697 : m === 64 ? 0.709 : 0.7213 / (1 + 1.079 / m);
  const raw = (alpha * m * m) / harmonic;
  if (raw <= 2.5 * m && zeros > 0) return m * Math.log(m / zeros);
  return raw;
}

/** Standard error of an HLL of this precision. */
export const hllStandardError = (precision: number): number => 1.04 / Math.sqrt(2 ** precision);

/** Approximate number of distinct values of a field (strings or numbers). */
export function distinct<E>(of: (event: E) => string | number | null | undefined, options: DistinctOptions = {}): Aggregator<E, HllState, number> {
  const precision = options.precision ?? 12;
  if (!Number.isInteger(precision) || precision < 4 || precision > 16) {
    throw new RangeError(`distinct: precision must be an integer in 4..16, got ${precision}`);
  }
  const m = 2 ** precision;
  const zero = (): HllState => ({ precision, registers: new Uint8Array(m) });
  const add = (acc: HllState, e: E): HllState => {
    const v = of(e);
    if (v === null || v === undefined) return acc;
    const [index, rank] = hllRegisterOf(String(v), precision);
    if (rank > acc.registers[index]) acc.registers[index] = rank;
    return acc;
  };
  const check = (s: HllState) => {
    if (s.precision !== precision) {
      throw new RangeError(`distinct: cannot merge precision ${s.precision} into ${precision}`);
    }
  };
  const plusInto = (acc: HllState, b: HllState): HllState => {
    check(b);
    const r = acc.registers;
    const o = b.registers;
    for (let i = 0; i < m; i++) if (o[i] > r[i]) r[i] = o[i];
    return acc;
  };
  return aggregator<E, HllState, number>({
    kind: 'distinct',
    params: { precision },
    zero,
    lift: (e) => add(zero(), e),
    plus: (a, b) => {
      check(a);
      return plusInto({ precision, registers: a.registers.slice() }, b);
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
 * while fewer than a sixth of the registers are set, dense `{p, d}` otherwise. Most cells of a
 * fine-grained view hold few values, so sparse keeps rows small.
 */
export function encodeHll(s: HllState): Json {
  const m = s.registers.length;
  let set = 0;
  for (let i = 0; i < m; i++) if (s.registers[i] !== 0) set++;
  if (set * 6 < m) {
    const bytes = Buffer.alloc(set * 3);
    let o = 0;
    for (let i = 0; i < m; i++) {
      const r = s.registers[i];
      if (r === 0) continue;
      bytes.writeUInt16BE(i, o);
      bytes[o + 2] = r;
      o += 3;
    }
    return { p: s.precision, s: bytes.toString('base64') };
  }
  return { p: s.precision, d: Buffer.from(s.registers.buffer, s.registers.byteOffset, m).toString('base64') };
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
  const registers = new Uint8Array(m);
  if (typeof o['d'] === 'string') {
    const bytes = Buffer.from(o['d'], 'base64');
    if (bytes.length !== m) throw new StateDecodeError(`distinct: dense registers have ${bytes.length} bytes, expected ${m}`);
    registers.set(bytes);
  } else if (typeof o['s'] === 'string') {
    const bytes = Buffer.from(o['s'], 'base64');
    if (bytes.length % 3 !== 0) throw new StateDecodeError('distinct: sparse registers are not index/rank triples');
    for (let i = 0; i < bytes.length; i += 3) {
      const index = bytes.readUInt16BE(i);
      if (index >= m) throw new StateDecodeError(`distinct: register index ${index} out of range`);
      registers[index] = bytes[i + 2];
    }
  } else {
    throw new StateDecodeError('distinct: state has neither sparse (s) nor dense (d) registers');
  }
  return { precision, registers };
}
