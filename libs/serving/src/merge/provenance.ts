import type { BatchPointer } from './batch-pointer';
import type { BatchProvenance, PartitionOffset, Provenance, SpeedProvenance } from '../query/query-model';

/** The speed layer's progress on one partition (a `tandem_speed_offsets` row). */
export interface SpeedOffset {
  readonly topic: string;
  readonly partition: number;
  readonly nextOffset: number;
  /** Log time of the newest record consumed, epoch ms; null before the first. */
  readonly lastLogTime: number | null;
}

/** What a snapshot says about the layers before any row is read. */
export interface LayerHead {
  readonly view: string;
  /** The view's transform version in this service's code. */
  readonly codeTransformVersion: string;
  /** The view's stream topic in this service's code. */
  readonly codeTopic: string;
  readonly pointer: BatchPointer | null;
  /** Progress of the speed consumer on the topic served. */
  readonly speedOffsets: readonly SpeedOffset[];
  readonly speedConsumer: string;
}

/** Transform version whose rows are merged: the current batch's, or the code's before any batch. */
export const servedTransformVersion = (head: LayerHead): string => head.pointer?.transformVersion ?? head.codeTransformVersion;

/** Topic of the rows merged. */
export const servedTopic = (head: LayerHead): string => head.pointer?.topic ?? head.codeTopic;

export interface LayerCounts {
  readonly batchRows: number;
  readonly speedRows: number;
  readonly batchEvents: number;
  readonly speedEvents: number;
}

export function batchProvenance(pointer: BatchPointer | null): BatchProvenance | null {
  if (pointer === null) return null;
  return {
    version: pointer.batchVersion,
    runId: pointer.runId,
    flippedAt: pointer.flippedAt,
    topic: pointer.topic,
    cut: Object.entries(pointer.cut)
      .map(([partition, offset]) => ({ partition: Number(partition), offset }))
      .sort((a, b) => a.partition - b.partition),
  };
}

export function speedProvenance(head: LayerHead, now: number): SpeedProvenance {
  const offsets: PartitionOffset[] = head.speedOffsets.map((o) => ({ partition: o.partition, offset: o.nextOffset })).sort((a, b) => a.partition - b.partition);
  let newest: number | null = null;
  for (const o of head.speedOffsets) if (o.lastLogTime !== null && (newest === null || o.lastLogTime > newest)) newest = o.lastLogTime;
  return { consumer: head.speedConsumer, topic: servedTopic(head), offsets, freshnessMs: newest === null ? null : Math.max(0, now - newest) };
}

/** Provenance of an answer read from `head` (DESIGN.md section 7). */
export function provenanceOf(head: LayerHead, counts: LayerCounts, now: number): Provenance {
  return {
    transformVersion: servedTransformVersion(head),
    codeTransformVersion: head.codeTransformVersion,
    batch: batchProvenance(head.pointer),
    speed: speedProvenance(head, now),
    rows: { batch: counts.batchRows, speed: counts.speedRows },
    events: { batch: counts.batchEvents, speed: counts.speedEvents },
    notes: notesOf(head),
  };
}

/** Facts about the snapshot that are not errors but that a reader of the answer should know. */
export function notesOf(head: LayerHead): string[] {
  const notes: string[] = [];
  const { pointer } = head;
  if (pointer === null) {
    notes.push('no batch version yet: the answer comes from the speed layer alone');
  } else if (pointer.transformVersion !== head.codeTransformVersion) {
    notes.push(
      `serving transform version ${pointer.transformVersion} of the current batch; this service defines ` +
        `${head.codeTransformVersion}, whose rows are merged once a batch run of it becomes current`,
    );
  }
  if (head.speedOffsets.length === 0) {
    notes.push(`the speed layer (consumer ${head.speedConsumer}) has recorded no progress on ${servedTopic(head)}`);
  }
  if (pointer !== null) {
    const speedAt = new Map(head.speedOffsets.map((o) => [o.partition, o.nextOffset]));
    for (const [partition, cut] of Object.entries(pointer.cut)) {
      const at = speedAt.get(Number(partition));
      // Not an error: batch may run ahead of a lagging speed layer, and then covers those offsets.
      if (at !== undefined && cut > at) notes.push(`batch cut is ahead of the speed layer on partition ${partition} (cut ${cut}, speed at ${at})`);
    }
  }
  return notes;
}
