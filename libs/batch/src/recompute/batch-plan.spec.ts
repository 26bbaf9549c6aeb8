import { requestsPerStatusHour } from '@tandem/transforms';
import type { BatchPointer } from './batch-pointer';
import { planView, realtimeGaps } from './batch-plan';

describe('realtimeGaps', () => {
  const partitions = [0, 1, 2];

  it('finds partitions whose realtime rows begin above the cut', () => {
    expect(realtimeGaps(partitions, { 0: 40, 1: 20, 2: 0 }, new Map([[0, 40], [1, 27]]), new Map([[0, 50], [1, 30]]))).toEqual([{ partition: 1, cut: 20, start: 27 }]);
  });

  it('treats rows not begun on a partition the group is already past as a gap, and an unread partition as none', () => {
    expect(realtimeGaps(partitions, { 0: 40 }, new Map(), new Map([[0, 33], [1, 5]]))).toEqual([{ partition: 1, cut: 0, speedAt: 5 }]);
  });
});

describe('planView of a new transform version', () => {
  const pointer = { transformVersion: 'v1-older', cut: { 0: 20, 1: 20, 2: 20, 3: 20 }, table: 't', batchVersion: 1 } as unknown as BatchPointer;
  const base = {
    view: requestsPerStatusHour,
    topic: 'tandem.http_requests.v1',
    requested: 'incremental' as const,
    pointer,
    previousTableExists: true,
    coverage: new Map([[0, 45], [1, 45], [2, 45], [3, 45]]),
    speedNext: new Map([[0, 45], [1, 45], [2, 45], [3, 45]]),
    chunkSize: 20,
  };

  it('holds the flip while its realtime rows begin above the cut, and flips once the lake passes them', () => {
    const within = planView({ ...base, realtimeStarts: new Map([[0, 30], [1, 20], [2, 20], [3, 20]]) });
    expect(within).toMatchObject({ mode: 'full', reason: 'transform-version-changed', changes: true, held: undefined, cut: { 0: 40 } });
    const above = planView({ ...base, realtimeStarts: new Map([[0, 41], [1, 20], [2, 20], [3, 20]]) });
    expect(above.changes).toBe(false);
    expect(above.held).toMatch(/partition 0 \(cut 40, rows from 41\)/);
    const later = planView({ ...base, coverage: new Map([[0, 65], [1, 45], [2, 45], [3, 45]]), realtimeStarts: new Map([[0, 41], [1, 20], [2, 20], [3, 20]]) });
    expect(later).toMatchObject({ mode: 'full', changes: true, held: undefined, cut: { 0: 60 } });
  });

  it('does not hold a version already current', () => {
    const same = planView({ ...base, pointer: { ...pointer, transformVersion: requestsPerStatusHour.transformVersion } as BatchPointer, realtimeStarts: new Map([[0, 41]]) });
    expect(same).toMatchObject({ mode: 'incremental', changes: true, held: undefined });
  });
});
