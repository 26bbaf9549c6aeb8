import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { TandemError } from '../errors/tandem-error';
import type { Log, LogAdmin, LogConsumer, LogProducer, ProducedPosition, ProduceMessage } from '../log/log-port';
import { ConsumerGroup } from './consumer-group';
import { EmbeddedConsumer, type EmbeddedLogLogger, type EmbeddedLogRuntime } from './embedded-consumer';
import { partitionForKey } from './murmur2';
import { PartitionLog } from './partition-log';
import { SegmentFile, type StoredRecord } from './segment-file';

export interface EmbeddedLogOptions {
  /**
   * Directory of the log's segment files: the log survives a restart, with the same
   * offsets. Without one the log lives in memory only.
   */
  readonly directory?: string;
  /** fsync each send before it resolves (default true). */
  readonly fsync?: boolean;
  readonly logger?: EmbeddedLogLogger;
}

/** Kafka's rule for topic names (kafka.common.Topic / org.apache.kafka.common.internals.Topic). */
const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;
const MAX_PARTITIONS = 1_000;

export class UnknownTopicError extends TandemError {
  override readonly name = 'UnknownTopicError';
  constructor(readonly topic: string) {
    super(`topic ${topic} does not exist in the embedded log (create it with admin().ensureTopic)`, false);
  }
}

interface Topic {
  readonly partitions: PartitionLog[];
  readonly listeners: Set<() => void>;
  roundRobin: number;
}

/**
 * The log port in one process, with Kafka's semantics: topics of N partitions, offsets from
 * 0 per partition, keyed partitioning with Kafka's murmur2 partitioner, consumer groups with
 * range assignment and eager rebalancing, and consumers woken by appends. With a directory
 * it is durable: each partition is an append-only segment file, fsync'd on send and
 * reloaded on open, and a lock file keeps a second process from opening the same log.
 */
export class EmbeddedLog implements Log {
  readonly kind = 'embedded' as const;
  private readonly topics = new Map<string, Topic>();
  private readonly creating = new Map<string, Promise<void>>();
  private readonly groups = new Map<string, ConsumerGroup>();
  private readonly consumers = new Set<EmbeddedConsumer>();
  private readonly segments: SegmentFile[] = [];
  private closed = false;
  private readonly runtime: EmbeddedLogRuntime;

  private constructor(
    private readonly directory: string | undefined,
    private readonly fsync: boolean,
    readonly logger: EmbeddedLogLogger,
  ) {
    this.runtime = {
      partition: (topic, partition) => this.topic(topic).partitions[partition],
      partitionCount: (topic) => this.topic(topic).partitions.length,
      group: (groupId) => {
        let group = this.groups.get(groupId);
        if (!group) {
          group = new ConsumerGroup(groupId, (topic) => this.topic(topic).partitions.length);
          this.groups.set(groupId, group);
        }
        return group;
      },
      onAppend: (topic, listener) => {
        const listeners = this.topic(topic).listeners;
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      logger,
    };
  }

  /** Opens the log, loading every topic from `directory` if given. */
  static async open(options: EmbeddedLogOptions = {}): Promise<EmbeddedLog> {
    const log = new EmbeddedLog(options.directory && path.resolve(options.directory), options.fsync ?? true, options.logger ?? stderrLogger);
    if (log.directory) {
      if (openDirectories.has(log.directory)) throw new TandemError(`embedded log ${log.directory} is in use by process ${process.pid} (this one)`, false);
      await fs.mkdir(log.directory, { recursive: true });
      await acquireLock(log.directory);
      openDirectories.add(log.directory);
      try {
        await log.load();
      } catch (error) {
        await log.close();
        throw error;
      }
    }
    return log;
  }

  consumer(clientId = 'tandem'): LogConsumer {
    this.assertOpen();
    const consumer = new EmbeddedConsumer(this.runtime, clientId);
    this.consumers.add(consumer);
    return consumer;
  }

  async producer(): Promise<LogProducer> {
    this.assertOpen();
    let closed = false;
    return {
      send: (topic, messages) => {
        if (closed) return Promise.reject(new TandemError('embedded log: producer is closed', false));
        return this.send(topic, messages);
      },
      close: async () => {
        closed = true;
      },
    };
  }

  async admin(): Promise<LogAdmin> {
    this.assertOpen();
    return {
      ensureTopic: (topic, partitions) => this.ensureTopic(topic, partitions),
      endOffsets: async (topic) => new Map(this.topic(topic).partitions.map((p) => [p.partition, p.end])),
      close: async () => undefined,
    };
  }

  async ping(): Promise<boolean> {
    return !this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.consumers].map((c) => c.stop()));
    this.consumers.clear();
    await Promise.allSettled([...this.topics.values()].flatMap((t) => t.partitions.map((p) => p.settle())));
    await Promise.allSettled(this.segments.map((s) => s.close()));
    if (this.directory) {
      await fs.rm(path.join(this.directory, LOCK_FILE), { force: true });
      openDirectories.delete(this.directory);
    }
  }

  private async send(topic: string, messages: readonly ProduceMessage[]): Promise<ProducedPosition[]> {
    this.assertOpen();
    const t = this.topic(topic);
    const count = t.partitions.length;
    const groups = new Map<number, { indexes: number[]; records: StoredRecord[] }>();
    messages.forEach((m, i) => {
      const key = m.key === null || m.key === undefined ? null : Buffer.isBuffer(m.key) ? m.key : Buffer.from(m.key, 'utf8');
      let partition = m.partition;
      if (partition !== undefined) {
        if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
          throw new TandemError(`topic ${topic} has partitions 0-${count - 1}; message ${i} asks for ${partition}`, false);
        }
      } else if (key !== null) {
        partition = partitionForKey(key, count);
      } else {
        partition = t.roundRobin++ % count;
      }
      const value = Buffer.isBuffer(m.value) ? m.value : Buffer.from(m.value, 'utf8');
      const record: StoredRecord = { timestamp: m.timestamp ?? Date.now(), key, value, headers: { ...(m.headers ?? {}) } };
      let group = groups.get(partition);
      if (!group) groups.set(partition, (group = { indexes: [], records: [] }));
      group.indexes.push(i);
      group.records.push(record);
    });
    const positions = new Array<ProducedPosition>(messages.length);
    await Promise.all(
      [...groups].map(async ([partition, group]) => {
        const first = await t.partitions[partition].append(group.records);
        group.indexes.forEach((index, j) => (positions[index] = { partition, offset: first + j }));
      }),
    );
    return positions;
  }

  private async ensureTopic(topic: string, partitions: number): Promise<void> {
    this.assertOpen();
    if (!TOPIC.test(topic) || topic === '.' || topic === '..') throw new TandemError(`invalid topic name ${JSON.stringify(topic)}`, false);
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
      throw new TandemError(`topic ${topic}: partitions must be an integer from 1 to ${MAX_PARTITIONS}, got ${partitions}`, false);
    }
    const pending = this.creating.get(topic);
    if (pending) await pending;
    const existing = this.topics.get(topic);
    if (existing) {
      if (existing.partitions.length !== partitions) {
        throw new TandemError(`topic ${topic} exists with ${existing.partitions.length} partitions, not ${partitions}`, false);
      }
      return;
    }
    const creating = this.createTopic(topic, partitions);
    this.creating.set(topic, creating);
    try {
      await creating;
    } finally {
      this.creating.delete(topic);
    }
  }

  private async createTopic(topic: string, partitions: number): Promise<void> {
    if (this.directory) {
      const dir = path.join(this.directory, topic);
      await fs.mkdir(dir, { recursive: true });
      const temp = path.join(dir, `${TOPIC_FILE}.tmp`);
      await fs.writeFile(temp, JSON.stringify({ topic, partitions }));
      await fs.rename(temp, path.join(dir, TOPIC_FILE));
    }
    await this.addTopic(topic, partitions);
  }

  private async addTopic(topic: string, partitions: number): Promise<void> {
    const t: Topic = { partitions: [], listeners: new Set(), roundRobin: 0 };
    const notify = () => {
      for (const listener of [...t.listeners]) listener();
    };
    for (let p = 0; p < partitions; p++) {
      let stored: StoredRecord[] = [];
      let segment: SegmentFile | undefined;
      if (this.directory) {
        const file = path.join(this.directory, topic, `${p}.log`);
        ({ segment, records: stored } = await SegmentFile.open(file, {
          fsync: this.fsync,
          onTruncate: (valid, size) => this.logger.warn('embedded log: cut a torn write off the end of a segment', { file, validBytes: valid, fileBytes: size }),
        }));
        this.segments.push(segment);
      }
      t.partitions.push(new PartitionLog(topic, p, stored, segment, notify));
    }
    this.topics.set(topic, t);
  }

  private async load(): Promise<void> {
    for (const entry of await fs.readdir(this.directory!, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      let meta: { topic?: unknown; partitions?: unknown };
      try {
        meta = JSON.parse(await fs.readFile(path.join(this.directory!, entry.name, TOPIC_FILE), 'utf8'));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw new TandemError(`embedded log: cannot read ${entry.name}/${TOPIC_FILE}: ${(error as Error).message}`, false);
      }
      if (meta.topic !== entry.name || !Number.isInteger(meta.partitions)) {
        throw new TandemError(`embedded log: ${entry.name}/${TOPIC_FILE} does not describe topic ${entry.name}`, false);
      }
      await this.addTopic(entry.name, meta.partitions as number);
    }
  }

  private topic(topic: string): Topic {
    const t = this.topics.get(topic);
    if (!t) throw new UnknownTopicError(topic);
    return t;
  }

  private assertOpen(): void {
    if (this.closed) throw new TandemError('embedded log is closed', false);
  }
}

/** Opens an embedded log (see EmbeddedLog). */
export const openEmbeddedLog = (options: EmbeddedLogOptions = {}): Promise<EmbeddedLog> => EmbeddedLog.open(options);

const TOPIC_FILE = 'topic.json';
/** Directories opened by this process (the lock file cannot tell two opens of one process apart). */
const openDirectories = new Set<string>();
const LOCK_FILE = 'LOCK';

/** One process per log directory: a second would interleave appends and corrupt segments. */
async function acquireLock(directory: string): Promise<void> {
  const file = path.join(directory, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fs.writeFile(file, String(process.pid), { flag: 'wx' });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw new TandemError(`embedded log ${directory} is in use by process ${owner}`, false);
    }
    // Left by a process that is gone (killed): take it over.
    await fs.rm(file, { force: true });
  }
  throw new TandemError(`embedded log ${directory}: cannot take the lock ${file}`, true);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const stderrLogger: EmbeddedLogLogger = {
  info: (message, fields) => write('info', message, fields),
  warn: (message, fields) => write('warn', message, fields),
  error: (message, fields) => write('error', message, fields),
};

function write(level: string, message: string, fields?: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), message, ...fields })}\n`);
}
