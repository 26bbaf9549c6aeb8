import type { PoolClient } from 'pg';
import { compareChunk, type CellMismatch, excerpt, MAX_EXAMPLES, type ViewConformity } from '../conformity/conformity-check';
import { readRealtimeChunks } from '../conformity/realtime-chunks';
import { type BatchPointer, retireRealtimeRows, writePointer } from './batch-pointer';
import { recordRunCompleted } from './batch-run-record';
import type { ViewPlan } from './batch-plan';
import { chunkKey } from './lake-scan';
import type { ViewCells } from './scan-cells';
import type { WrittenVersion } from './version-writer';

/**
 * The flip: in ONE transaction, per view, compare the newly covered chunks with the speed
 * layer's rows (conformity), point tandem_batch_current at the new version with its cut,
 * delete the realtime rows wholly below the cut, and record the run as completed with its
 * lineage. Serving reads the pointer and the rows in one snapshot, so it sees either the old
 * version with the old realtime rows or the new one with the rest, never a mix.
 */
export interface FlippedView {
  readonly plan: ViewPlan;
  readonly pointer: BatchPointer;
  readonly cells: ViewCells;
  readonly written: WrittenVersion;
}

export interface FlipResult {
  readonly conformity: ViewConformity[];
  readonly realtimeRowsDeleted: number;
}

export async function flip(
  client: PoolClient,
  args: {
    readonly runId: string;
    readonly chunkSize: number;
    readonly views: readonly FlippedView[];
    readonly cut: unknown;
    /** Built once conformity is known: the lineage recorded with the run. */
    readonly lineage: (conformity: readonly ViewConformity[]) => unknown;
  },
): Promise<FlipResult> {
  await client.query('BEGIN');
  try {
    const conformity: ViewConformity[] = [];
    let realtimeRowsDeleted = 0;
    for (const v of args.views) {
      conformity.push(await checkConformity(client, v));
      await writePointer(client, v.pointer);
      await client.query(
        `UPDATE tandem_batch_versions SET status = 'ready', ready_at = now(), rows = $3, events = $4 WHERE view = $1 AND batch_version = $2 AND status = 'building'`,
        [v.pointer.view, v.pointer.batchVersion, v.written.rows, v.written.events],
      );
      realtimeRowsDeleted += await retireRealtimeRows(client, v.pointer.view, v.pointer.cut, args.chunkSize);
    }
    await recordRunCompleted(client, args.runId, { cut: args.cut, lineage: args.lineage(conformity), conformity });
    await client.query('COMMIT');
    return { conformity, realtimeRowsDeleted };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

async function checkConformity(client: PoolClient, v: FlippedView): Promise<ViewConformity> {
  const { view } = v.plan;
  let compared = 0;
  let mismatches = 0;
  const examples: CellMismatch[] = [];
  for (const span of v.plan.conformity.compare) {
    const [partition, fromChunk, toChunk] = span;
    const speed = await readRealtimeChunks(client, view.name, view.transformVersion, span);
    for (let chunk = fromChunk; chunk < toChunk; chunk++) {
      const batch = v.cells.chunks.get(chunkKey(partition, chunk))?.cells.cells() ?? [];
      const found = compareChunk(partition, chunk, batch, speed.get(chunk) ?? []);
      compared++;
      mismatches += found.length;
      for (const m of found) {
        if (examples.length >= MAX_EXAMPLES) break;
        examples.push({ ...m, batch: excerpt(m.batch), speed: excerpt(m.speed) });
      }
    }
  }
  return { view: view.name, transformVersion: view.transformVersion, compared, notCompared: v.plan.conformity.notCompared, mismatches, examples };
}
