/**
 * Kafka's default key partitioner: `toPositive(murmur2(keyBytes)) % partitions`, as in the
 * Java client (org.apache.kafka.common.utils.Utils#murmur2) and kafkajs'
 * `Partitioners.DefaultPartitioner`. The embedded log uses it so that a key lands on the same
 * partition number whether the platform runs on Kafka or in one process.
 *
 * The Java code works on 32-bit ints with wrap-around; Math.imul and `| 0` give the same
 * arithmetic in JavaScript.
 */
const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  switch (length % 4) {
    // Java's switch falls through: 3 trailing bytes mix in all three.
    case 3:
      h ^= (data[tail + 2] << 16) | (data[tail + 1] << 8) | data[tail];
      h = Math.imul(h, M);
      break;
    case 2:
      h ^= (data[tail + 1] << 8) | data[tail];
      h = Math.imul(h, M);
      break;
    case 1:
      h ^= data[tail];
      h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Java's `Utils.toPositive`: clears the sign bit (not Math.abs, which overflows on MIN_VALUE). */
export const toPositive = (n: number): number => n & 0x7fffffff;

/** The partition of a keyed record among `partitions`. */
export const partitionForKey = (key: Uint8Array, partitions: number): number => toPositive(murmur2(key)) % partitions;
