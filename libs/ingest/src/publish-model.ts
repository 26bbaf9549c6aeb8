import type { DeadLetterReason } from '@tandem/contracts';

/**
 * The answer to a publish: one result per event, in request order. An accepted event is
 * durably in its stream's topic (acks=all) at the position given; a rejected one is not in
 * the topic, and says why.
 */
export type EventResult =
  | { readonly index: number; readonly accepted: true; readonly partition: number; readonly offset: number }
  | { readonly index: number; readonly accepted: false; readonly reason: DeadLetterReason; readonly detail: string };

export interface PublishResult {
  readonly stream: string;
  readonly accepted: number;
  readonly rejected: number;
  readonly results: readonly EventResult[];
}
