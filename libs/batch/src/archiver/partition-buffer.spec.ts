import type { LakeRecord } from '@tandem/platform';
import { PartitionBuffer } from './partition-buffer';

const record = (offset: number): LakeRecord => ({ partition: 0, offset, logTime: offset, key: null, event: { n: offset } });

describe('PartitionBuffer', () => {
  it('cuts ranges by consumed-record counts from the durable offset, skipped records included', () => {
    const buffer = new PartitionBuffer(100);
    // 100-104 valid, 105 skipped, (106-107: offsets the log does not have), 108-110 valid, 111 skipped
    for (const o of [100, 101, 102, 103, 104]) buffer.add(record(o), 1);
    buffer.skip(105, 1);
    for (const o of [108, 109, 110]) buffer.add(record(o), 2);
    buffer.skip(111, 2);
    expect(buffer.size).toBe(10);
    expect(buffer.consumedUntil).toBe(112);

    const first = buffer.take(6)!;
    expect(first).toMatchObject({ fromOffset: 100, nextOffset: 106, skippedOffsets: [105] });
    expect(first.records.map((r) => r.offset)).toEqual([100, 101, 102, 103, 104]);
    buffer.commit(first, 5);
    expect(buffer.fromOffset).toBe(106);
    expect(buffer.oldestAt).toBe(5);

    const rest = buffer.take()!;
    expect(rest).toMatchObject({ fromOffset: 106, nextOffset: 112, skippedOffsets: [111] });
    expect(rest.records.map((r) => r.offset)).toEqual([108, 109, 110]);
    buffer.commit(rest, 6);
    expect(buffer.size).toBe(0);
    expect(buffer.oldestAt).toBeUndefined();
    expect(buffer.take()).toBeUndefined();
  });

  it('refuses an offset consumed twice and a commit of a range it did not hand out', () => {
    const buffer = new PartitionBuffer(0);
    buffer.add(record(0), 1);
    expect(() => buffer.add(record(0), 1)).toThrow(/consumed twice/);
    const range = buffer.take()!;
    buffer.commit(range, 2);
    expect(() => buffer.commit(range, 3)).toThrow(/starts at 0, buffer at 1/);
  });
});
