import { randomBytes } from 'node:crypto';
import { Partitioners } from 'kafkajs';
import { murmur2, partitionForKey, toPositive } from './murmur2';

describe("Kafka's key partitioner", () => {
  // kafkajs' default partitioner is the Java client's murmur2 (0.10.2+); the metadata only
  // needs the partition count and leaders.
  const metadata = (n: number) => Array.from({ length: n }, (_, i) => ({ partitionErrorCode: 0, partitionId: i, leader: 0, replicas: [0], isr: [0] }));

  it.each([1, 3, 4, 12, 50])('puts 1,000 random keys on the same partition as kafkajs with %i partitions', (n) => {
    const kafkajs = Partitioners.DefaultPartitioner();
    const keys = Array.from({ length: 1_000 }, (_, i) => randomBytes(i % 40).toString(i % 2 === 0 ? 'hex' : 'base64'));
    for (const key of keys) {
      const expected = kafkajs({ topic: 't', partitionMetadata: metadata(n), message: { key, value: 'v' } });
      expect({ key, partition: partitionForKey(Buffer.from(key), n) }).toEqual({ key, partition: expected });
    }
  });

  it('gives the hashes of the Java client (org.apache.kafka.common.utils.UtilsTest#testMurmur2)', () => {
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of cases) expect(murmur2(Buffer.from(key))).toBe(hash);
    expect(toPositive(-973932308)).toBe(-973932308 & 0x7fffffff);
  });
});
