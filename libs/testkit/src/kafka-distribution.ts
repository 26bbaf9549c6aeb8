// The Apache Kafka jars the test broker runs from. They are resolved once with Maven from
// Maven Central (tools/kafka/pom.xml) into a cache directory shared by every checkout:
//
//   $TANDEM_CACHE_DIR/kafka/kafka-<version>/libs/*.jar     (TANDEM_CACHE_DIR defaults to ~/.cache/tandem)
//
// A marker file written after a complete copy records the POM it came from, so a later run
// starts without Maven (no network), and a changed POM is resolved again.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const KAFKA_VERSION = '3.9.1';

const POM_PATH = path.resolve(__dirname, '../../../tools/kafka/pom.xml');
const MARKER = '.resolved.json';
const MAVEN_TIMEOUT_MS = 10 * 60_000;

export interface KafkaDistribution {
  version: string;
  /** Directory holding the broker's jars; the classpath is `<libsDir>/*`. */
  libsDir: string;
  /** True when the jars were resolved by this call (Maven ran), false when the cache was used. */
  downloaded: boolean;
}

/** Root of Tandem's local cache: `$TANDEM_CACHE_DIR`, or `~/.cache/tandem`. */
export function tandemCacheDir(): string {
  return process.env['TANDEM_CACHE_DIR'] || path.join(os.homedir(), '.cache', 'tandem');
}

export function kafkaHome(version = KAFKA_VERSION): string {
  return path.join(tandemCacheDir(), 'kafka', `kafka-${version}`);
}

/**
 * Returns the cached Kafka jars, resolving them with Maven first if the cache is empty or
 * stale. Safe to call from several processes at once: each resolves into its own directory
 * and the first complete one is moved into place.
 */
export async function ensureKafkaDistribution(
  options: { log?: (line: string) => void } = {},
): Promise<KafkaDistribution> {
  const home = kafkaHome();
  const libsDir = path.join(home, 'libs');
  const pomDigest = createHash('sha256').update(await fs.readFile(POM_PATH)).digest('hex');

  if (await isResolved(libsDir, pomDigest)) {
    return { version: KAFKA_VERSION, libsDir, downloaded: false };
  }

  await fs.mkdir(home, { recursive: true });
  const staging = await fs.mkdtemp(path.join(home, 'libs.staging-'));
  try {
    options.log?.(`Resolving Apache Kafka ${KAFKA_VERSION} jars with Maven into ${libsDir}`);
    await runMaven(['-q', '-B', '-f', POM_PATH, 'dependency:copy-dependencies', `-DoutputDirectory=${staging}`]);
    const jars = (await fs.readdir(staging)).filter((name) => name.endsWith('.jar')).sort();
    if (!jars.some((name) => name.startsWith(`kafka_2.13-${KAFKA_VERSION}`))) {
      throw new Error(`Maven did not produce kafka_2.13-${KAFKA_VERSION}.jar in ${staging}`);
    }
    await fs.writeFile(path.join(staging, MARKER), JSON.stringify({ version: KAFKA_VERSION, pomDigest, jars }, null, 2));

    if (await isResolved(libsDir, pomDigest)) {
      // Another process finished first; keep its copy.
      return { version: KAFKA_VERSION, libsDir, downloaded: true };
    }
    await fs.rm(libsDir, { recursive: true, force: true });
    try {
      await fs.rename(staging, libsDir);
    } catch (error) {
      if (!(await isResolved(libsDir, pomDigest))) throw error;
    }
    return { version: KAFKA_VERSION, libsDir, downloaded: true };
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

async function isResolved(libsDir: string, pomDigest: string): Promise<boolean> {
  try {
    const marker = JSON.parse(await fs.readFile(path.join(libsDir, MARKER), 'utf8')) as {
      pomDigest?: string;
      jars?: string[];
    };
    if (marker.pomDigest !== pomDigest || !Array.isArray(marker.jars) || marker.jars.length === 0) return false;
    const present = new Set(await fs.readdir(libsDir));
    return marker.jars.every((jar) => present.has(jar));
  } catch {
    return false;
  }
}

function runMaven(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('mvn', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-8000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => {
      output += `\n(killed after ${MAVEN_TIMEOUT_MS / 1000} s)`;
      child.kill('SIGKILL');
    }, MAVEN_TIMEOUT_MS);
    child.on('exit', () => clearTimeout(timer));
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new Error('Maven (mvn) is needed to resolve the Kafka jars for the test broker; install Maven and Java 17, or set KAFKA_BROKERS')
          : error,
      );
    });
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`mvn ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${output}`));
    });
  });
}
