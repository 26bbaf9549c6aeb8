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
  for (let i = 0; i < whole; i += 2) h = mixBlock(h, scramble(blockAt(text, i)));
  if (len & 1) h ^= scramble(text.charCodeAt(len - 1) & 0xffff);
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
    const k = scramble(blockAt(text, i));
    a = mixBlock(a, k);
    b = mixBlock(b, k);
  }
  if (len & 1) {
    const k = scramble(text.charCodeAt(len - 1) & 0xffff);
    a ^= k;
    b ^= k;
  }
  out[0] = fmix32(a ^ (len * 2));
  out[1] = fmix32(b ^ (len * 2));
}

/** Two UTF-16 units make one 32-bit block. */
function blockAt(text: string, i: number): number {
  return (text.charCodeAt(i) & 0xffff) | ((text.charCodeAt(i + 1) & 0xffff) << 16);
}

/** MurmurHash3's scramble of one block before it is mixed in. */
function scramble(k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}

/** One scrambled block mixed into the running hash. */
function mixBlock(h: number, k: number): number {
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
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
