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
  /**
   * Why a new transform version is not flipped yet: its realtime rows begin above the cut on
   * these partitions, so the offsets in between would be in neither layer. The current
   * version keeps serving; a later run, with the lake past those starts, flips.
   */
  readonly held?: string;
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
  /** Where the realtime rows of the code's transform version begin, per partition (tandem_realtime_starts). */
  readonly realtimeStarts?: ReadonlyMap<number, number>;
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
  // The first version of a transform version starts serving its realtime rows at the cut:
  // they must begin at or below it (DESIGN.md section 6).
  const firstOfVersion = pointer === undefined || pointer.transformVersion !== view.transformVersion;
  const gaps = firstOfVersion ? realtimeGaps(partitions, cut, input.realtimeStarts ?? new Map(), input.speedNext) : [];
  const held =
    gaps.length === 0
      ? undefined
      : `view ${view.name}: the realtime rows of transform version ${view.transformVersion} begin above the cut on ` +
        gaps.map((g) => `partition ${g.partition} (cut ${g.cut}, rows from ${g.start ?? `beyond ${g.speedAt}, not begun`})`).join(', ') +
        '; the current version keeps serving until the lake reaches them';
  return { view, topic: input.topic, mode, reason, previous: pointer, previousCut, cut, ranges, conformity, changes: held === undefined && (mode === 'full' || ranges.size > 0), held };
}

/**
 * Partitions where a transform version's realtime rows would not cover everything from the
 * cut on: they began above it, or they have not begun although the speed layer's group is
 * already past it (it will begin them where it stands). A partition the group has not
 * consumed yet begins at the group's first position, which is where it starts reading.
 */
export function realtimeGaps(
  partitions: readonly number[],
  cut: Cut,
  starts: ReadonlyMap<number, number>,
  speedNext: ReadonlyMap<number, number>,
): { partition: number; cut: number; start?: number; speedAt?: number }[] {
  const gaps: { partition: number; cut: number; start?: number; speedAt?: number }[] = [];
  for (const p of partitions) {
    const at = cut[p] ?? 0;
    const start = starts.get(p);
    if (start !== undefined) {
      if (start > at) gaps.push({ partition: p, cut: at, start });
    } else {
      const speedAt = speedNext.get(p);
      if (speedAt !== undefined && speedAt > at) gaps.push({ partition: p, cut: at, speedAt });
    }
  }
  return gaps;
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
