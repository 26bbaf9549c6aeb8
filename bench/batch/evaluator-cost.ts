import { readFlights } from '@tandem/platform';
import { type AnyView, countedView, ViewAccumulator } from '@tandem/transforms';

/**
 * What the shared evaluator alone costs, measured in the benchmark's own process: flights
 * folded in memory (no lake, no I/O) through each view's `ViewAccumulator` over the counted
 * view (as the batch scan folds them), then every cell's state encoded as the batch tables
 * store it. The second of two rounds counts (the first warms the JIT up).
 */
export interface EvaluatorCost {
  readonly events: number;
  /** Per view: CPU µs per event folded, and per cell encoded. */
  readonly views: readonly { readonly view: string; readonly foldMicros: number; readonly encodeMicros: number }[];
}

export async function measureEvaluator(views: readonly AnyView[], events: number): Promise<EvaluatorCost> {
  const flights: unknown[] = [];
  for await (const slice of readFlights({ limit: events })) flights.push(...slice);
  const cpu = () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  const out: { view: string; foldMicros: number; encodeMicros: number }[] = [];
  for (const view of views) {
    let foldMicros = 0;
    let encodeMicros = 0;
    for (let round = 0; round < 2; round++) {
      const acc = new ViewAccumulator(countedView(view));
      let t = cpu();
      for (const e of flights) acc.add(e);
      foldMicros = (cpu() - t) / flights.length;
      t = cpu();
      let bytes = 0;
      for (const c of acc.cells()) bytes += JSON.stringify(view.aggregator.encode(c.state.state)).length;
      encodeMicros = (cpu() - t) / Math.max(1, acc.size);
      if (bytes < 0) throw new Error('unreachable'); // keeps the encoding from being optimised away
    }
    out.push({ view: view.name, foldMicros, encodeMicros });
  }
  return { events: flights.length, views: out };
}
