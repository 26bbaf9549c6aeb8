import type { QueryService } from '@tandem/serving';
import type { AnyView } from '@tandem/transforms';
import type { AcceptedEvent } from './accepted-log';
import { ViewOracle } from './oracle';
import { CheckTally, cellsByKey } from './oracle-check';
import { EXACT_VIEWS } from './oracle-views';

/** Every key and bucket of a view served by `queries`, against the oracle over `accepted`. */
export async function compareView(queries: QueryService, view: AnyView, accepted: readonly AcceptedEvent[], range: { from: number; to: number }, context: string): Promise<CheckTally> {
  const tally = new CheckTally();
  const oracle = await ViewOracle.create(EXACT_VIEWS[view.name].table, accepted);
  try {
    for (const [key, cells] of cellsByKey(await oracle.expected(view))) {
      let points;
      try {
        points = (await queries.timeSeries({ view: view.name, key, from: range.from, to: range.to })).points;
      } catch (error) {
        if ((error as { name?: string }).name !== 'NotFoundError' && !/no data|not found/i.test(String((error as Error).message))) throw error;
        points = null;
      }
      tally.compareKey(view, key, points as never, cells, context);
    }
  } finally {
    oracle.close();
  }
  return tally;
}
