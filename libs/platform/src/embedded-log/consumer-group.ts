import type { TopicPartition } from '../log/log-port';

/** What the group coordinator needs from a member. */
export interface GroupMember {
  readonly memberId: string;
  readonly topics: readonly string[];
  /** Stops delivering batches and resolves once the batch in flight (if any) has settled. */
  revoke(): Promise<void>;
  /** Hands the member its partitions for a generation; it then loads their start offsets. */
  assign(generation: number, partitions: readonly TopicPartition[]): void;
}

/**
 * Kafka's RangeAssignor: per topic, members subscribed to it sorted by member id, each
 * taking a contiguous range of partitions, the first `partitions % members` one extra.
 */
export function rangeAssign(
  members: readonly Pick<GroupMember, 'memberId' | 'topics'>[],
  partitionsOf: (topic: string) => number,
): Map<string, TopicPartition[]> {
  const result = new Map<string, TopicPartition[]>(members.map((m) => [m.memberId, []]));
  const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
  for (const topic of topics) {
    const subscribers = members.filter((m) => m.topics.includes(topic)).map((m) => m.memberId).sort();
    const partitions = partitionsOf(topic);
    const per = Math.floor(partitions / subscribers.length);
    const extra = partitions % subscribers.length;
    subscribers.forEach((memberId, i) => {
      const start = per * i + Math.min(i, extra);
      const count = per + (i < extra ? 1 : 0);
      for (let p = start; p < start + count; p++) result.get(memberId)!.push({ topic, partition: p });
    });
  }
  return result;
}

/**
 * One consumer group of the embedded log, with Kafka's eager rebalance protocol: when a
 * member joins or leaves, every member stops and finishes its batch in flight (so no
 * partition is ever processed by two members at once), then all get their new partitions
 * and load their start offsets. Rebalances run one after the other.
 */
export class ConsumerGroup {
  private readonly members: GroupMember[] = [];
  private generation = 0;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly groupId: string,
    private readonly partitionsOf: (topic: string) => number,
  ) {}

  join(member: GroupMember): Promise<void> {
    return this.enqueue(async () => {
      this.members.push(member);
      await this.rebalance();
    });
  }

  leave(member: GroupMember): Promise<void> {
    return this.enqueue(async () => {
      const i = this.members.indexOf(member);
      if (i < 0) return;
      this.members.splice(i, 1);
      await this.rebalance();
    });
  }

  get size(): number {
    return this.members.length;
  }

  private async rebalance(): Promise<void> {
    const generation = ++this.generation;
    await Promise.all(this.members.map((m) => m.revoke()));
    const assignment = rangeAssign(this.members, this.partitionsOf);
    for (const m of this.members) m.assign(generation, assignment.get(m.memberId) ?? []);
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    const run = this.queue.then(step);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
