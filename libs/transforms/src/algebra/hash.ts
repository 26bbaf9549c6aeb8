/**
 * MurmurHash3 (x86, 32-bit) over a string's UTF-16 code units, with Math.imul so it runs on
 * small integers without allocating. Used for HyperLogLog register placement and the
 * transform-version fingerprint; stable across processes and versions by construction.
 * (The `murmurhash` npm package hashes byte-wise through string slicing and costs ~1 µs for
 * a short key; this costs a few dozen nanoseconds.)
 */
export function murmur3(text: string, seed: number): number {
  let h = seed | 0;
  const len = text.length;
  const whole = len & ~1;
  // Two UTF-16 units make one 32-bit block.
  for (let i = 0; i < whole; i += 2) {
    let k = (text.charCodeAt(i) & 0xffff) | ((text.charCodeAt(i + 1) & 0xffff) << 16);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (len & 1) {
    let k = text.charCodeAt(len - 1) & 0xffff;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  return fmix32(h ^ (len * 2)) >>> 0;
}

/**
 * `murmur3(text, seedA)` and `murmur3(text, seedB)` in one pass over the text (the blocks
 * mixed in are the same for both seeds), written into `out` as unsigned 32-bit values: what
 * a HyperLogLog needs per value, for about the cost of one hash.
 */
export function murmur3Pair(text: string, seedA: number, seedB: number, out: Uint32Array): void {
  let a = seedA | 0;
  let b = seedB | 0;
  const len = text.length;
  const whole = len & ~1;
  for (let i = 0; i < whole; i += 2) {
    let k = (text.charCodeAt(i) & 0xffff) | ((text.charCodeAt(i + 1) & 0xffff) << 16);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    a ^= k;
    a = (a << 13) | (a >>> 19);
    a = (Math.imul(a, 5) + 0xe6546b64) | 0;
    b ^= k;
    b = (b << 13) | (b >>> 19);
    b = (Math.imul(b, 5) + 0xe6546b64) | 0;
  }
  if (len & 1) {
    let k = text.charCodeAt(len - 1) & 0xffff;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    a ^= k;
    b ^= k;
  }
  out[0] = fmix32(a ^ (len * 2));
  out[1] = fmix32(b ^ (len * 2));
}

/** MurmurHash3's finalisation. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
