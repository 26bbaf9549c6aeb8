import { type AnyView, canonicalJson, evaluateView, flightsPerOriginHour, flightsPerRouteDay } from '@tandem/transforms';
import { accumulatePartition, countedView, type DecodedEvent } from './partition-delta';

const airports = ['SFO', 'LAX', 'JFK', 'ORD'];
const events: DecodedEvent[] = Array.from({ length: 500 }, (_, i) => ({
  offset: 1_000 + i,
  event: {
    ts: Date.UTC(2001, 0, 1) + i * 7 * 60_000,
    delay: (i % 37) - 10,
    distance: 100 + (i % 13) * 50,
    origin: airports[i % 4],
    destination: airports[(i * 3 + 1) % 4],
  },
}));

describe('accumulatePartition', () => {
  const plain: AnyView[] = [flightsPerOriginHour, flightsPerRouteDay];
  const views = plain.map(countedView);

  it('folds each chunk exactly as the evaluator folds its events', () => {
    const delta = accumulatePartition(views, events, 1_000, 128);
    expect(delta.chunks.map((c) => c.chunk)).toEqual([7, 8, 9, 10, 11]);
    expect(delta.events).toBe(500);
    for (const { chunk, views: accumulators } of delta.chunks) {
      const inChunk = events.filter((e) => Math.floor(e.offset / 128) === chunk).map((e) => e.event);
      accumulators.forEach((acc, v) => {
        const view = plain[v];
        const expected = evaluateView(view, inChunk);
        expect(acc.size).toBe(expected.size);
        for (const cell of acc.cells()) {
          const oracle = [...expected.values()].find((c) => c.key === cell.key && c.bucket === cell.bucket)!;
          expect(canonicalJson(view.aggregator.encode(cell.state.state))).toBe(canonicalJson(view.aggregator.encode(oracle.state)));
          expect(cell.state.events).toBe(inChunk.filter((e) => view.keyOf(e) === cell.key && evaluateView(view, [e]).values().next().value!.bucket === cell.bucket).length);
        }
      });
    }
  });

  it('leaves out events below the start position', () => {
    const delta = accumulatePartition(views, events, 1_300, 128);
    expect(delta.events).toBe(200);
    expect(delta.chunks[0].chunk).toBe(10);
    expect(accumulatePartition(views, events, 2_000, 128).chunks).toEqual([]);
  });

  it('counts events through merges, and round-trips the count with the state', () => {
    const view = views[1];
    const a = view.aggregator.lift(events[0].event);
    const b = view.aggregator.add(view.aggregator.zero(), events[1].event);
    expect(view.aggregator.plus(a, b).events).toBe(2);
    expect(view.aggregator.decode(view.aggregator.encode(a)).events).toBe(1);
    // The inner aggregator stores the state alone (the realtime rows keep the count in a column).
    expect(view.aggregator.inner.decode(view.aggregator.inner.encode(a.state))).toEqual(a.state);
  });
});
