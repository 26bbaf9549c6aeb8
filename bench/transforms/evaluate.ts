/**
 * In-memory cost of the view evaluator (the part batch and speed share), as the batch
 * benchmark measures it (`measureEvaluator`): flights folded through each flight view's
 * `ViewAccumulator` over the counted view, then every cell's state encoded as the tables
 * store it. Reports CPU µs per event folded and per cell encoded (as the tables store it
 * today, and through `encodeText`), and the load average.
 *   node tools/run.js bench/transforms/evaluate.ts [events]
 */
import { loadavg } from 'node:os';
import { catalog, type AnyView } from '@tandem/transforms';
import { measureEvaluator } from '../batch/evaluator-cost';

async function main() {
  const n = Number(process.argv[2] ?? 300_000);
  const views = catalog.filter((v) => v.stream.name === 'flights') as AnyView[];
  const cost = await measureEvaluator(views, n);
  for (const v of cost.views) {
    console.log(
      `${v.view}: fold ${v.foldMicros.toFixed(3)} µs/event, encode ${v.encodeMicros.toFixed(3)} µs/cell (encodeText ${v.encodeTextMicros.toFixed(3)} µs/cell)`,
    );
  }
  console.log(`${cost.events} events; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
