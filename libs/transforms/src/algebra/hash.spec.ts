import fc from 'fast-check';
import { murmur3, murmur3Pair } from './hash';

describe('murmur3', () => {
  it('matches MurmurHash3_x86_32 on ASCII strings hashed as little-endian UTF-16 code units', () => {
    // Reference: the x86_32 algorithm over the UTF-16LE bytes of the string, computed by
    // Node's own implementation-independent byte loop below.
    const reference = (text: string, seed: number) => {
      const bytes = Buffer.from(text, 'utf16le');
      let h = seed >>> 0;
      const c1 = 0xcc9e2d51;
      const c2 = 0x1b873593;
      let i = 0;
      for (; i + 4 <= bytes.length; i += 4) {
        let k = bytes.readUInt32LE(i);
        k = Math.imul(k, c1);
        k = (k << 15) | (k >>> 17);
        k = Math.imul(k, c2);
        h ^= k;
        h = (h << 13) | (h >>> 19);
        h = (Math.imul(h, 5) + 0xe6546b64) | 0;
      }
      let k = 0;
      const rest = bytes.length - i;
      if (rest >= 3) k ^= bytes[i + 2] << 16;
      if (rest >= 2) k ^= bytes[i + 1] << 8;
      if (rest >= 1) {
        k ^= bytes[i];
        k = Math.imul(k, c1);
        k = (k << 15) | (k >>> 17);
        k = Math.imul(k, c2);
        h ^= k;
      }
      h ^= bytes.length;
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      return h >>> 0;
    };
    for (const text of ['', 'a', 'ab', 'abc', '66.249.73.135', '/presentations/logstash-monitorama-2013/', 'LAS', 'ünïcødé ✓']) {
      for (const seed of [0, 1, 0x5f3759df]) expect(murmur3(text, seed)).toBe(reference(text, seed));
    }
  });

  it('spreads close keys', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 10_000; i++) seen.add(murmur3(`key-${i}`, 7));
    expect(seen.size).toBe(10_000);
  });
});

describe('murmur3Pair', () => {
  it('gives murmur3 under each of its two seeds', () => {
    const out = new Uint32Array(2);
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.integer(), fc.integer(), (text, a, b) => {
        murmur3Pair(text, a, b, out);
        expect([out[0], out[1]]).toEqual([murmur3(text, a), murmur3(text, b)]);
      }),
    );
  });
});
