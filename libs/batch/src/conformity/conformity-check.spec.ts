import { compareChunk, excerpt } from './conformity-check';

const cell = (key: string, bucket: number, state: unknown) => ({ key, bucket, state: JSON.stringify(state), events: 1 });

describe('compareChunk', () => {
  it('finds no mismatch when the states are equal, whatever the key order of their JSON', () => {
    const batch = [cell('a', 0, { requests: 2, bytes: { s: 1, n: 2 } })];
    const speed = [{ key: 'a', bucket: 0, state: { bytes: { n: 2, s: 1 }, requests: 2 } }];
    expect(compareChunk(0, 3, batch, speed)).toEqual([]);
  });

  it('reports differing states, cells only the batch has and cells only the speed layer has', () => {
    const batch = [cell('a', 0, { requests: 2 }), cell('b', 0, { requests: 1 })];
    const speed = [
      { key: 'a', bucket: 0, state: { requests: 3 } },
      { key: 'c', bucket: 60_000, state: { requests: 1 } },
    ];
    const found = compareChunk(1, 7, batch, speed);
    expect(found).toEqual([
      { partition: 1, chunk: 7, key: 'a', bucket: 0, batch: { requests: 2 }, speed: { requests: 3 } },
      { partition: 1, chunk: 7, key: 'b', bucket: 0, batch: { requests: 1 }, speed: null },
      { partition: 1, chunk: 7, key: 'c', bucket: 60_000, batch: null, speed: { requests: 1 } },
    ]);
  });
});

describe('excerpt', () => {
  it('keeps small states and shortens large ones', () => {
    expect(excerpt({ a: 1 })).toEqual({ a: 1 });
    const long = excerpt({ s: 'x'.repeat(1000) }) as string;
    expect(typeof long).toBe('string');
    expect(long.length).toBeLessThan(310);
  });
});
