import { readFlights } from '@tandem/platform';
import { type AnyView, countedView, ViewAccumulator } from '@tandem/transforms';

/**
 * What the shared evaluator alone costs, measured in the benchmark's own process: flights
 * folded in memory (no lake, no I/O) through each view's `ViewAccumulator` over the counted
 * view (as the batch scan folds them), then every cell's state encoded as the batch tables
 * store it (`JSON.stringify(encode(state))`), and the same text written by `encodeText`. The
 * second of two rounds counts (the first warms the JIT up).
 */
export interface EvaluatorCost {
  readonly events: number;
  /**
   * Per view: CPU µs per event folded, per cell encoded as `JSON.stringify(encode(state))`,
   * and per cell encoded with `encodeText` (the same text).
   */
  readonly views: readonly { readonly view: string; readonly foldMicros: number; readonly encodeMicros: number; readonly encodeTextMicros: number }[];
}

export async function measureEvaluator(views: readonly AnyView[], events: number): Promise<EvaluatorCost> {
  const flights: unknown[] = [];
  for await (const slice of readFlights({ limit: events })) flights.push(...slice);
  const cpu = () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  const out: { view: string; foldMicros: number; encodeMicros: number; encodeTextMicros: number }[] = [];
  for (const view of views) {
    let foldMicros = 0;
    let encodeMicros = 0;
    let encodeTextMicros = 0;
    for (let round = 0; round < 2; round++) {
      const acc = new ViewAccumulator(countedView(view));
      let t = cpu();
      for (const e of flights) acc.add(e);
      foldMicros = (cpu() - t) / flights.length;
      t = cpu();
      let bytes = 0;
      for (const c of acc.cells()) bytes += JSON.stringify(view.aggregator.encode(c.state.state)).length;
      encodeMicros = (cpu() - t) / Math.max(1, acc.size);
      t = cpu();
      let textBytes = 0;
      for (const c of acc.cells()) textBytes += view.aggregator.encodeText(c.state.state).length;
      encodeTextMicros = (cpu() - t) / Math.max(1, acc.size);
      if (textBytes !== bytes) throw new Error(`${view.name}: encodeText wrote ${textBytes} bytes, JSON.stringify(encode) ${bytes}`);
    }
    out.push({ view: view.name, foldMicros, encodeMicros, encodeTextMicros });
  }
  return { events: flights.length, views: out };
}
