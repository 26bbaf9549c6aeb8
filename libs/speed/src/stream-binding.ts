import type { StreamContract } from '@tandem/contracts';
import type { AnyView } from '@tandem/transforms';

/**
 * A stream as the speed layer consumes it: its contract, the topics it lives on in this
 * deployment, and the views fed by it.
 *
 * Topic names come from the contract (`tandem.<stream>.v<N>`); a deployment-wide prefix
 * lets several deployments (or test runs) share one cluster without sharing topics.
 */
export interface StreamBinding {
  readonly contract: StreamContract;
  readonly topic: string;
  readonly deadLetterTopic: string;
  readonly views: readonly AnyView[];
}

export function bindStreams(views: readonly AnyView[], topicPrefix = ''): StreamBinding[] {
  if (views.length === 0) throw new RangeError('speed layer: at least one view is required');
  const names = new Set<string>();
  for (const view of views) {
    if (names.has(view.name)) throw new RangeError(`speed layer: view "${view.name}" is listed twice`);
    names.add(view.name);
  }
  const byStream = new Map<string, { contract: StreamContract; views: AnyView[] }>();
  for (const view of views) {
    const key = `${view.stream.name}.v${view.stream.version}`;
    const entry = byStream.get(key) ?? { contract: view.stream, views: [] };
    entry.views.push(view);
    byStream.set(key, entry);
  }
  return [...byStream.values()].map(({ contract, views: streamViews }) => ({
    contract,
    topic: `${topicPrefix}${contract.topic}`,
    deadLetterTopic: `${topicPrefix}${contract.deadLetterTopic}`,
    views: streamViews,
  }));
}
