/**
 * In-memory cost of the view evaluator (the part batch and speed share): folds flights
 * through the flight views and reports µs per event per view, and the cost of encoding states.
 *   node tools/run.js bench/transforms/evaluate.ts [events]
 */
import { readFlights } from '@tandem/platform';
import { catalog, ViewAccumulator, type AnyView } from '@tandem/transforms';

async function main() {
  const n = Number(process.argv[2] ?? 500_000);
  const events: unknown[] = [];
  for await (const batch of readFlights({ limit: n })) events.push(...batch);
  const views = catalog.filter((v) => v.stream.name === 'flights');
  for (const view of views as AnyView[]) {
    for (let round = 0; round < 2; round++) {
      const acc = new ViewAccumulator(view);
      let t = process.hrtime.bigint();
      for (const e of events) acc.add(e);
      const foldNs = Number(process.hrtime.bigint() - t);
      t = process.hrtime.bigint();
      let bytes = 0;
      for (const c of acc.cells()) bytes += JSON.stringify(view.aggregator.encode(c.state)).length;
      const encNs = Number(process.hrtime.bigint() - t);
      console.log(
        `${view.name} round ${round}: fold ${(foldNs / events.length / 1000).toFixed(2)} µs/event, ` +
          `${acc.size} cells, encode ${(encNs / acc.size / 1000).toFixed(2)} µs/cell (${(bytes / acc.size).toFixed(0)} B/cell)`,
      );
    }
  }
}
main();
