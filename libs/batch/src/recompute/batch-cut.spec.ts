import { ImpossibleStateError } from '@tandem/platform';
import { chooseBatchCut, cutIsMonotone, rangesBetween } from './batch-cut';

describe('chooseBatchCut', () => {
  const chunkSize = 100;

  it('floors the lake coverage of every partition to a chunk boundary', () => {
    const { cut, behindPrevious } = chooseBatchCut({ partitions: [0, 1, 2], coverage: new Map([[0, 250], [1, 99], [2, 300]]), previous: {}, chunkSize });
    expect(cut).toEqual({ '0': 200, '1': 0, '2': 300 });
    expect(behindPrevious).toEqual([]);
  });

  it('never moves a partition back, and names partitions whose lake is behind the previous cut', () => {
    const { cut, behindPrevious } = chooseBatchCut({ partitions: [0, 1], coverage: new Map([[0, 150], [1, 420]]), previous: { '0': 200, '1': 300 }, chunkSize });
    expect(cut).toEqual({ '0': 200, '1': 400 });
    expect(behindPrevious).toEqual([0]);
    expect(cutIsMonotone({ '0': 200, '1': 300 }, cut)).toBe(true);
  });

  it('covers partitions the lake has not seen yet at offset 0, and partitions known only from the previous cut', () => {
    const { cut } = chooseBatchCut({ partitions: [0, 1], coverage: new Map([[0, 100]]), previous: { '3': 100 }, chunkSize });
    expect(cut).toEqual({ '0': 100, '1': 0, '3': 100 });
  });

  it('refuses a previous cut off the chunk grid (the chunk size changed)', () => {
    expect(() => chooseBatchCut({ partitions: [0], coverage: new Map([[0, 500]]), previous: { '0': 150 }, chunkSize })).toThrow(ImpossibleStateError);
  });
});

describe('rangesBetween', () => {
  it('gives the offsets between two cuts, leaving out partitions with nothing new', () => {
    expect([...rangesBetween({ '0': 100, '1': 200 }, { '0': 300, '1': 200, '2': 100 })]).toEqual([
      [0, [100, 300]],
      [2, [0, 100]],
    ]);
  });
});
