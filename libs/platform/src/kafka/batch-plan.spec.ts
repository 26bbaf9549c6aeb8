import { planBatch } from './batch-plan';

describe('planBatch', () => {
  it('processes a batch fetched exactly from the stored position', () => {
    expect(planBatch({ fetchedOffset: 40, position: 40, soughtTo: 0, stale: false })).toEqual({ kind: 'process', from: 40 });
  });

  it('drops a batch fetched before a pending seek', () => {
    expect(planBatch({ fetchedOffset: 40, position: 40, soughtTo: 40, stale: true })).toMatchObject({ kind: 'drop' });
  });

  it('seeks to the stored position when kafkajs fetched from its own (group offsets, a reset)', () => {
    expect(planBatch({ fetchedOffset: 90, position: 40, soughtTo: undefined, stale: false })).toEqual({ kind: 'seek', to: 40 });
    expect(planBatch({ fetchedOffset: 10, position: 40, soughtTo: 12, stale: false })).toEqual({ kind: 'seek', to: 40 });
  });

  it('goes on after a gap the broker cannot fill once the seek took effect', () => {
    expect(planBatch({ fetchedOffset: 90, position: 40, soughtTo: 40, stale: false })).toEqual({ kind: 'process', from: 90, gap: { from: 40, to: 90 } });
  });

  it('filters what lies below the position when the broker reset below it', () => {
    expect(planBatch({ fetchedOffset: 0, position: 40, soughtTo: 40, stale: false })).toEqual({ kind: 'process', from: 40 });
  });
});
