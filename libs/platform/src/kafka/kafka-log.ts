import { type Admin, Kafka, logLevel, Partitioners } from 'kafkajs';
import type { Log, LogAdmin, LogConsumer, LogProducer } from '../log/log-port';
import { KafkaLogAdmin } from './kafka-admin';
import { KafkaLogConsumer } from './kafka-consumer';
import { kafkaCall } from './kafka-errors';
import { kafkaLogCreator } from './kafka-logging';
import { type KafkaOptions, resolveKafkaOptions, type ResolvedKafkaOptions } from './kafka-options';
import { KafkaLogProducer } from './kafka-producer';

/**
 * The log port over Apache Kafka (or any Kafka-protocol service) with kafkajs.
 *
 * Options are checked when the log is created (a ConfigError names each bad field); no
 * connection is made until a consumer, producer or admin is asked for.
 */
export class KafkaLog implements Log {
  readonly kind = 'kafka' as const;
  private readonly config: ResolvedKafkaOptions;
  private readonly kafka: Kafka;
  private sharedAdmin: Promise<Admin> | undefined;
  private readonly closers = new Set<() => Promise<void>>();

  private readonly retriesGiven: boolean;

  constructor(options: KafkaOptions) {
    this.config = resolveKafkaOptions(options);
    this.retriesGiven = options.retry?.retries !== undefined;
    this.kafka = new Kafka({ ...this.config.client, logLevel: logLevel.WARN, logCreator: kafkaLogCreator(this.config.logger) });
  }

  consumer(clientId?: string): LogConsumer {
    const consumer = new KafkaLogConsumer(this.config, clientId ?? String(this.config.client.clientId));
    this.track(() => consumer.stop());
    return consumer;
  }

  async producer(): Promise<LogProducer> {
    const producer = this.kafka.producer({
      idempotent: this.config.producer.idempotent,
      // Idempotence keeps order only with one request in flight per connection in kafkajs.
      maxInFlightRequests: this.config.producer.idempotent ? 1 : 5,
      allowAutoTopicCreation: false,
      // Partitions are chosen by KafkaLogProducer; kafkajs' choice is never used.
      createPartitioner: Partitioners.DefaultPartitioner,
      // An idempotent producer that gave up and re-sent from a new sequence could duplicate,
      // so kafkajs retries it indefinitely (each attempt still bounded by maxRetryTime),
      // unless the caller bounded retries on purpose (it then bounds its sends itself).
      retry: this.config.producer.idempotent && !this.retriesGiven ? { ...this.config.retry, retries: Number.MAX_SAFE_INTEGER } : this.config.retry,
    });
    await kafkaCall('connect producer', () => producer.connect());
    const close = this.track(() => producer.disconnect());
    return new KafkaLogProducer(producer, (topic) => this.sharedLogAdmin().then((a) => a.partitionCount(topic)), close);
  }

  /** The log's shared admin connection; closing the returned admin leaves it to the log. */
  admin(): Promise<LogAdmin> {
    return this.sharedLogAdmin();
  }

  /** Whether a broker answers a cluster description within a few seconds. */
  async ping(): Promise<boolean> {
    try {
      const admin = await this.connectedAdmin();
      await withTimeout(admin.describeCluster(), 5_000);
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    const closers = [...this.closers];
    this.closers.clear();
    await Promise.allSettled(closers.map((close) => close()));
    const admin = this.sharedAdmin;
    this.sharedAdmin = undefined;
    if (admin) await admin.then((a) => a.disconnect()).catch(() => undefined);
  }

  /** Registers a resource to close with the log; returns its closer, which unregisters it. */
  private track(close: () => Promise<void>): () => Promise<void> {
    const closer = async () => {
      this.closers.delete(closer);
      await close();
    };
    this.closers.add(closer);
    return closer;
  }

  private async sharedLogAdmin(): Promise<KafkaLogAdmin> {
    return new KafkaLogAdmin(await this.connectedAdmin(), async () => undefined);
  }

  /** One admin connection per log, shared by admin(), ping() and the producers' metadata look-ups. */
  private connectedAdmin(): Promise<Admin> {
    if (!this.sharedAdmin) {
      const admin = this.kafka.admin({ retry: this.config.retry });
      const connecting = kafkaCall('connect admin', () => admin.connect()).then(() => admin);
      this.sharedAdmin = connecting;
      connecting.catch(() => {
        if (this.sharedAdmin === connecting) this.sharedAdmin = undefined;
      });
    }
    return this.sharedAdmin;
  }
}

/** Creates the Kafka log; throws a ConfigError on bad options. */
export const createKafkaLog = (options: KafkaOptions): KafkaLog => new KafkaLog(options);

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
