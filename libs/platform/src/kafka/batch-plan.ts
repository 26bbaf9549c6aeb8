/**
 * What to do with a fetched batch, given where the consumer's own store says the partition
 * stands. Kept apart from kafkajs so the rules can be read (and tested) on their own.
 *
 * kafkajs fetches from its own position: Kafka's committed group offset right after a join
 * (the GROUP_JOIN event fires before our stored positions are loaded), or wherever it went
 * after an automatic reset. We process a batch only when it was fetched exactly from the
 * stored position; otherwise we seek there first. If kafkajs still fetches from elsewhere
 * after that seek took effect, the broker has nothing at the stored position any more
 * (retention deleted it, compaction removed it, or only transaction markers were there):
 * we go on from what exists and report the gap instead of seeking forever.
 */
export type BatchPlan =
  | { readonly kind: 'process'; readonly from: number; readonly gap?: { readonly from: number; readonly to: number } }
  | { readonly kind: 'seek'; readonly to: number }
  | { readonly kind: 'drop'; readonly why: string };

export interface BatchPlanInput {
  /** Offset kafkajs asked the broker for. */
  readonly fetchedOffset: number;
  /** Next offset according to the consumer's store (or our own progress since). */
  readonly position: number;
  /** Last offset we sought this partition to in this generation, if any. */
  readonly soughtTo: number | undefined;
  /** A seek is pending for the partition: this batch predates it. */
  readonly stale: boolean;
}

export function planBatch({ fetchedOffset, position, soughtTo, stale }: BatchPlanInput): BatchPlan {
  if (stale) return { kind: 'drop', why: 'a seek is pending for the partition' };
  if (fetchedOffset === position) return { kind: 'process', from: position };
  if (soughtTo !== position) return { kind: 'seek', to: position };
  if (fetchedOffset > position) return { kind: 'process', from: fetchedOffset, gap: { from: position, to: fetchedOffset } };
  // Fetched below the position after seeking (an out-of-range reset to the earliest offset):
  // what lies below the position was already processed, so it is filtered out.
  return { kind: 'process', from: position };
}
