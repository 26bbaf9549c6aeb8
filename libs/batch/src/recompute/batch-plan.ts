import { type Cut, ImpossibleStateError } from '@tandem/platform';
import type { AnyView } from '@tandem/transforms';
import { type ConformityPlan, planConformity } from '../conformity/conformity-plan';
import { chooseBatchCut, rangesBetween } from './batch-cut';
import type { BatchPointer } from './batch-pointer';
import type { PartitionSpan, ScanTask } from './lake-scan';

/**
 * What a run does for one view: full or incremental, the cut, the offsets to read and the
 * chunks to compare with the speed layer.
 *
 * Incremental is the default, `batch(g) = batch(g-1) ⊕ lake[C_{g-1}, C_g)`. A full recompute
 * is forced when there is no previous version to add to, or when it was computed by another
 * transform version (its states must never be merged with this code's).
 */
export type RunMode = 'full' | 'incremental';
export type FullRunReason = 'requested' | 'first-run' | 'transform-version-changed' | 'previous-version-missing';

export interface ViewPlan {
  readonly view: AnyView;
  /** The view's topic in this deployment (with the deployment's topic prefix). */
  readonly topic: string;
  readonly mode: RunMode;
  readonly reason?: FullRunReason;
  readonly previous?: BatchPointer;
  readonly previousCut: Cut;
  readonly cut: Cut;
  /** Offsets folded into the new version, per partition. */
  readonly ranges: Map<number, readonly [number, number]>;
  readonly conformity: ConformityPlan;
  /** False when an incremental run has nothing new for the view: the current version stays. */
  readonly changes: boolean;
}

export interface PlanInput {
  readonly view: AnyView;
  readonly topic: string;
  readonly requested: RunMode;
  readonly pointer?: BatchPointer;
  /** Whether the pointer's table still exists. */
  readonly previousTableExists: boolean;
  readonly coverage: ReadonlyMap<number, number>;
  readonly speedNext: ReadonlyMap<number, number>;
  readonly chunkSize: number;
}

export function planView(input: PlanInput): ViewPlan {
  const { view, pointer, chunkSize } = input;
  const reason: FullRunReason | undefined =
    input.requested === 'full'
      ? 'requested'
      : pointer === undefined
        ? 'first-run'
        : pointer.transformVersion !== view.transformVersion
          ? 'transform-version-changed'
          : !input.previousTableExists
            ? 'previous-version-missing'
            : undefined;
  const mode: RunMode = reason === undefined ? 'incremental' : 'full';
  const previousCut = pointer?.cut ?? {};
  const partitions = Array.from({ length: view.stream.partitions }, (_, p) => p);
  const choice = chooseBatchCut({ partitions, coverage: input.coverage, previous: previousCut, chunkSize });
  if (mode === 'full' && choice.behindPrevious.length > 0) {
    throw new ImpossibleStateError(
      `view ${view.name}: the lake covers less of partition(s) ${choice.behindPrevious.join(', ')} than the current batch cut ` +
        `${JSON.stringify(previousCut)}; a full recompute would lose events the realtime rows no longer hold`,
    );
  }
  const cut = choice.cut;
  const ranges =
    mode === 'full'
      ? new Map(Object.entries(cut).flatMap(([p, to]) => (to > 0 ? [[Number(p), [0, to] as const]] : [])))
      : rangesBetween(previousCut, cut);
  const conformity = planConformity(previousCut, cut, input.speedNext, chunkSize);
  return { view, topic: input.topic, mode, reason, previous: pointer, previousCut, cut, ranges, conformity, changes: mode === 'full' || ranges.size > 0 };
}

export function scanTaskOf(plan: ViewPlan): ScanTask {
  const ranges: PartitionSpan[] = [...plan.ranges].map(([p, [from, to]]) => [p, from, to]);
  return { view: plan.view.name, ranges, chunks: plan.conformity.compare };
}

/** Per partition, the union hull of several views' ranges: which offsets the scan must read. */
export function unionRanges(plans: readonly ViewPlan[]): Map<number, readonly [number, number]> {
  const out = new Map<number, readonly [number, number]>();
  for (const plan of plans) {
    for (const [p, [from, to]] of plan.ranges) {
      const r = out.get(p);
      out.set(p, r === undefined ? [from, to] : [Math.min(r[0], from), Math.max(r[1], to)]);
    }
  }
  return out;
}
