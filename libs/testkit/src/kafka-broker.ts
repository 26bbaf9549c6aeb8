// A real single-node Apache Kafka (KRaft: broker and controller in one JVM) on loopback,
// started from the official jars (see kafka-distribution.ts) in a throw-away directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants as fsConstants, openSync, rmSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ensureKafkaDistribution } from './kafka-distribution';
import { LOOPBACK, delay, elapsedSince, freePorts, hasExited, tailFile, terminate } from './internal';

export interface KafkaBrokerOptions {
  /** How long to wait for the broker to answer a cluster description. Default 90 s. */
  startTimeoutMs?: number;
  /** Grace period between SIGTERM and SIGKILL on stop. Default 15 s. */
  stopTimeoutMs?: number;
  /** Default partition count of new topics (`num.partitions`). Default 4. */
  numPartitions?: number;
  /** Extra or overriding server.properties entries. */
  properties?: Record<string, string | number | boolean>;
  /** JVM options; default: `$TANDEM_KAFKA_JVM_OPTS`, or a small heap tuned for a fast start. */
  jvmOptions?: string[];
  /** Progress messages (jar resolution). */
  log?: (line: string) => void;
}

export interface KafkaBroker {
  /** Bootstrap addresses, `host:port`. */
  brokers: string[];
  /** The broker's log; it is removed with the rest of the broker's directory on stop. */
  logFile: string;
  /** Wall time of the start: storage format, JVM start-up, first cluster description, warm-up. */
  startupMs: number;
  /**
   * Stops the JVM (SIGTERM, then SIGKILL after the grace period, as a rolling restart or a
   * crash would) and keeps its data and ports; `up()` starts it again. For outage tests.
   */
  down(options?: { signal?: NodeJS.Signals }): Promise<void>;
  /** Starts the JVM again on the same data and ports, and resolves once it answers. */
  up(): Promise<void>;
  /** Stops the JVM (SIGTERM, then SIGKILL) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_JVM_OPTIONS = [
  '-Xms64m',
  '-Xmx512m',
  '-XX:+UseSerialGC',
  '-XX:TieredStopAtLevel=1',
  '-XX:-UsePerfData',
  '-Djava.awt.headless=true',
];
const TOOL_JVM_OPTIONS = ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-XX:-UsePerfData'];
const START_ATTEMPTS = 3;

/** Starts a broker on free loopback ports and resolves once kafkajs can describe the cluster. */
export async function startKafkaBroker(options: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
  const distribution = await ensureKafkaDistribution({ log: options.log });
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(distribution.libsDir, options);
    } catch (error) {
      // Another process may take a chosen port between choosing and binding it: try new ports.
      if (!(error instanceof PortTakenError) || attempt >= START_ATTEMPTS) throw error;
    }
  }
}

class PortTakenError extends Error {}

async function startOnce(libsDir: string, options: KafkaBrokerOptions): Promise<KafkaBroker> {
  const startedAt = process.hrtime.bigint();
  const sharing = await classDataSharing(libsDir, options).catch(() => NO_SHARING); // an optimisation only
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tandem-kafka-'));
  const logFile = path.join(dir, 'broker.log');
  const classpath = path.join(libsDir, '*');
  let child: ChildProcess | undefined;
  // If the process exits before stop() has finished (or without calling it), the JVM must not
  // outlive it: kill it and remove its directory synchronously, the only way an exit allows.
  const cleanUpAtExit = () => {
    if (child && !hasExited(child)) child.kill('SIGKILL');
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort while exiting
    }
  };
  process.on('exit', cleanUpAtExit);

  let ready = false;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      if (child) {
        await terminate(child, options.stopTimeoutMs ?? 15_000);
        await sharing.afterExit(child, ready);
      }
      await fs.rm(dir, { recursive: true, force: true });
      process.off('exit', cleanUpAtExit);
    })());

  try {
    const [port, controllerPort] = await freePorts(2);
    const propertiesFile = path.join(dir, 'server.properties');
    const log4jFile = path.join(dir, 'log4j.properties');
    await fs.writeFile(
      propertiesFile,
      serverProperties({ port, controllerPort, logDir: path.join(dir, 'data'), options }),
    );
    await fs.writeFile(log4jFile, LOG4J_PROPERTIES);
    const log4j = `-Dlog4j.configuration=file:${log4jFile}`;

    await runTool(
      [
        ...TOOL_JVM_OPTIONS,
        ...sharing.toolJvmOptions,
        log4j,
        ...['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', randomClusterId(), '-c', propertiesFile],
      ],
      path.join(dir, 'format.log'),
    );

    const brokers = [`${LOOPBACK}:${port}`];
    const launch = async () => {
      const logFd = openSync(logFile, 'a');
      try {
        child = spawn(
          javaBinary(),
          [...jvmOptions(options), ...sharing.jvmOptions, log4j, '-cp', classpath, 'kafka.Kafka', propertiesFile],
          { cwd: dir, stdio: ['ignore', logFd, logFd] },
        );
      } finally {
        closeSync(logFd);
      }
      const spawnError = new Promise<never>((_, reject) => child!.once('error', reject));
      spawnError.catch(() => undefined);
      await Promise.race([waitUntilReady(brokers, child, options.startTimeoutMs ?? 90_000), spawnError]);
    };
    await launch();
    ready = true;
    const down = async ({ signal = 'SIGTERM' }: { signal?: NodeJS.Signals } = {}) => {
      if (stopped) throw new Error('the broker was stopped');
      if (child) await terminate(child, options.stopTimeoutMs ?? 15_000, signal);
    };
    const up = async () => {
      if (stopped) throw new Error('the broker was stopped');
      if (child && !hasExited(child)) throw new Error('the broker is already up');
      await launch();
    };
    return { brokers, logFile, startupMs: elapsedSince(startedAt), down, up, stop };
  } catch (error) {
    const log = child ? await tailFile(logFile) : '';
    await stop();
    if (/Address already in use|BindException/.test(log)) throw new PortTakenError(String(error));
    const message = `Kafka broker did not start: ${(error as Error).message}`;
    throw new Error(child ? `${message}\n--- broker log (tail) ---\n${log}` : message);
  }
}

async function waitUntilReady(brokers: string[], child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const kafka = new Kafka({
    clientId: 'tandem-testkit-probe',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 5_000,
    retry: { retries: 0 },
  });
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (hasExited(child)) {
      throw new Error(`the JVM exited (${child.signalCode ?? `code ${child.exitCode}`}) before the broker was ready`);
    }
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length > 0) {
        await warmUp(brokers);
        return;
      }
    } catch (error) {
      lastError = error;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await delay(200);
  }
  throw new Error(`no answer from ${brokers.join(',')} within ${timeoutMs} ms (${(lastError as Error | undefined)?.message ?? 'no attempt'})`);
}

/**
 * Brings up what Kafka creates lazily on first use (the group coordinator with
 * __consumer_offsets, and producer ids), so that the first test does not pay for it with
 * retries and "coordinator is loading" errors.
 */
async function warmUp(brokers: string[]): Promise<void> {
  const kafka = new Kafka({
    clientId: 'tandem-testkit-warmup',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  try {
    await Promise.all([
      admin.connect().then(() => admin.describeGroups(['tandem-testkit-warmup'])),
      producer.connect(),
    ]);
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

function serverProperties(args: { port: number; controllerPort: number; logDir: string; options: KafkaBrokerOptions }): string {
  const { port, controllerPort, logDir, options } = args;
  const properties: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@${LOOPBACK}:${controllerPort}`,
    listeners: `PLAINTEXT://${LOOPBACK}:${port},CONTROLLER://${LOOPBACK}:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${LOOPBACK}:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': logDir,
    'num.partitions': options.numPartitions ?? 4,
    'auto.create.topics.enable': false,
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 4,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 4,
    'group.initial.rebalance.delay.ms': 0,
    'num.network.threads': 2,
    'num.io.threads': 4,
    ...options.properties,
  };
  return Object.entries(properties).map(([key, value]) => `${key}=${value}`).join('\n') + '\n';
}

const LOG4J_PROPERTIES = [
  'log4j.rootLogger=INFO, stdout',
  'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
  'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
  'log4j.logger.kafka.server.KafkaConfig=WARN',
  'log4j.logger.org.apache.kafka.clients=WARN',
  '',
].join('\n');

/**
 * A KRaft cluster id: 16 random bytes in unpadded base64url, as `kafka-storage random-uuid`
 * prints it (Kafka rejects ids that start with '-' and the all-zero/one reserved ids).
 */
export function randomClusterId(): string {
  for (;;) {
    const bytes = randomBytes(16);
    const id = bytes.toString('base64url');
    const reserved = bytes.subarray(0, 15).every((b) => b === 0) && bytes[15]! <= 1;
    if (!id.startsWith('-') && !reserved) return id;
  }
}

/**
 * Class data sharing: the first broker started with the default JVM options records the
 * classes it loaded in an archive at exit (about 45 MB, beside the jars, one per JDK); later
 * brokers (and the storage tool, same classpath) map it instead of loading and verifying
 * thousands of classes again, which cuts the JVM's start-up by about a third. A JDK that
 * cannot use the archive ignores it.
 */
interface ClassDataSharing {
  jvmOptions: string[];
  toolJvmOptions: string[];
  afterExit(child: ChildProcess, wasReady: boolean): Promise<void>;
}

const NO_SHARING: ClassDataSharing = { jvmOptions: [], toolJvmOptions: [], afterExit: async () => undefined };

async function classDataSharing(libsDir: string, options: KafkaBrokerOptions): Promise<ClassDataSharing> {
  if (options.jvmOptions || process.env['TANDEM_KAFKA_JVM_OPTS']?.trim()) return NO_SHARING;
  const java = await resolveExecutable(javaBinary());
  if (!java) return NO_SHARING;
  const { size, mtimeMs } = await fs.stat(java);
  const jdk = createHash('sha256').update(`${java}:${size}:${mtimeMs}`).digest('hex').slice(0, 12);
  const archive = path.join(libsDir, 'cds', `kafka-broker-${jdk}.jsa`);
  if (await fs.stat(archive).then((stat) => stat.size > 0, () => false)) {
    const useArchive = [`-XX:SharedArchiveFile=${archive}`];
    return { jvmOptions: useArchive, toolJvmOptions: useArchive, afterExit: async () => undefined };
  }
  await fs.mkdir(path.dirname(archive), { recursive: true });
  await removeAbandonedArchives(path.dirname(archive));
  const pending = `${archive}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  return {
    jvmOptions: [`-XX:ArchiveClassesAtExit=${pending}`],
    toolJvmOptions: [],
    afterExit: async (child, wasReady) => {
      // Keep only a whole archive (the JVM shut down normally) of a broker that got going.
      const written = await fs.stat(pending).then((stat) => stat.size > 0, () => false);
      const complete = wasReady && child.signalCode !== 'SIGKILL' && written;
      if (complete) await fs.rename(pending, archive).catch(() => undefined);
      await fs.rm(pending, { force: true });
    },
  };
}

/** Archives whose JVM was killed before finishing them (older than ten minutes). */
async function removeAbandonedArchives(dir: string): Promise<void> {
  for (const name of await fs.readdir(dir)) {
    if (!name.endsWith('.tmp')) continue;
    const file = path.join(dir, name);
    const stat = await fs.stat(file).catch(() => undefined);
    if (stat && Date.now() - stat.mtimeMs > 10 * 60_000) await fs.rm(file, { force: true });
  }
}

async function resolveExecutable(command: string): Promise<string | undefined> {
  const candidates = command.includes(path.sep)
    ? [command]
    : (process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, command));
  for (const candidate of candidates) {
    try {
      await fs.access(candidate, fsConstants.X_OK);
      return await fs.realpath(candidate);
    } catch {
      // not here
    }
  }
  return undefined;
}

function javaBinary(): string {
  const javaHome = process.env['JAVA_HOME'];
  return javaHome ? path.join(javaHome, 'bin', 'java') : 'java';
}

function jvmOptions(options: KafkaBrokerOptions): string[] {
  if (options.jvmOptions) return options.jvmOptions;
  const fromEnv = process.env['TANDEM_KAFKA_JVM_OPTS']?.trim();
  return fromEnv ? fromEnv.split(/\s+/) : DEFAULT_JVM_OPTIONS;
}

function runTool(args: string[], logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const logFd = openSync(logFile, 'a');
    const tool = spawn(javaBinary(), args, { stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    tool.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new Error('java was not found: install Java 17 (or set JAVA_HOME)') : error),
    );
    tool.once('exit', async (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${args.slice(-5).join(' ')} failed (${signal ?? `exit ${code}`}):\n${await tailFile(logFile)}`));
    });
  });
}
