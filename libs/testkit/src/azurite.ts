// A real Azure Blob Storage endpoint for tests: Azurite (Microsoft's emulator, npm `azurite`),
// its blob service on a free loopback port, data in memory, account = the well-known dev account.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LOOPBACK, elapsedSince, hasExited, tailFile, terminate } from './internal';

/** Azurite's fixed development account (documented, public: not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteServer {
  /** `http://127.0.0.1:<port>/devstoreaccount1` */
  blobEndpoint: string;
  /** A connection string for @azure/storage-blob's BlobServiceClient.fromConnectionString. */
  connectionString: string;
  port: number;
  startupMs: number;
  /** Stops the server and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  /** How long to wait for the service to listen. Default 30 s. */
  startTimeoutMs?: number;
}

const LISTENING = /successfully listens on (http:\/\/[^\s]+)/;

/**
 * Starts Azurite's blob service (`azurite-blob` from node_modules). Port 0 lets the server
 * pick a free port, which it prints once it listens, so there is no race for the port.
 */
export async function startAzurite(options: AzuriteOptions = {}): Promise<AzuriteServer> {
  const startedAt = process.hrtime.bigint();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tandem-azurite-'));
  const logFile = path.join(dir, 'azurite.log');
  const main = path.join(path.dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'blob', 'main.js');
  const child = spawn(
    process.execPath,
    [main, '--blobHost', LOOPBACK, '--blobPort', '0', '--inMemoryPersistence', '--silent', '--skipApiVersionCheck', '--disableTelemetry'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const log = createWriteStream(logFile);
  child.stderr!.pipe(log);
  const stop = once(async () => {
    await terminate(child, 5_000);
    log.end();
    rmSync(dir, { recursive: true, force: true });
  });
  try {
    const endpoint = await listening(child, options.startTimeoutMs ?? 30_000, logFile);
    const port = Number(new URL(endpoint).port);
    const blobEndpoint = `http://${LOOPBACK}:${port}/${AZURITE_ACCOUNT}`;
    return {
      blobEndpoint,
      connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_ACCOUNT_KEY};BlobEndpoint=${blobEndpoint};`,
      port,
      startupMs: elapsedSince(startedAt),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function listening(child: ChildProcess, timeoutMs: number, logFile: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`Azurite did not listen within ${timeoutMs} ms`)), timeoutMs);
    const fail = async (error: Error) => {
      clearTimeout(timer);
      reject(new Error(`${error.message}\n${output}\n${await tailFile(logFile)}`));
    };
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const m = LISTENING.exec(output);
      if (m) {
        clearTimeout(timer);
        child.stdout!.resume();
        resolve(m[1]);
      }
    });
    child.once('exit', (code, signal) => {
      if (!hasExited(child)) return;
      void fail(new Error(`Azurite exited (${signal ?? code}) before listening`));
    });
  });
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
