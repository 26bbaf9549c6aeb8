import { planConformity } from './conformity-plan';

describe('planConformity', () => {
  const chunkSize = 100;

  it('compares the newly covered chunks the speed layer has fully passed', () => {
    const plan = planConformity({ '0': 200 }, { '0': 600 }, new Map([[0, 450]]), chunkSize);
    // new chunks 2..5; the speed layer is inside chunk 4, so 2 and 3 are complete
    expect(plan.compare).toEqual([[0, 2, 4]]);
    expect(plan.newChunks).toBe(4);
    expect(plan.notCompared).toBe(2);
  });

  it('counts a chunk as passed when the speed offset is exactly its end', () => {
    const plan = planConformity({}, { '0': 300 }, new Map([[0, 300]]), chunkSize);
    expect(plan.compare).toEqual([[0, 0, 3]]);
    expect(plan.notCompared).toBe(0);
  });

  it('compares nothing where the speed layer has not started, and nothing old', () => {
    const plan = planConformity({ '0': 300, '1': 100 }, { '0': 300, '1': 400 }, new Map(), chunkSize);
    expect(plan.compare).toEqual([]);
    expect(plan.newChunks).toBe(3);
    expect(plan.notCompared).toBe(3);
  });
});
