import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** A free TCP port on the loopback interface (released before the service binds it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface ServiceSpec {
  /** Name in reports and log files: ingest, speed, archiver, batch, serving. */
  readonly name: string;
  /** Entry point relative to the workspace root, e.g. apps/speed/src/main.ts. */
  readonly entry: string;
  /** Environment of each start; called per start, so an incarnation may differ (a fresh group id). */
  readonly env: (incarnation: number) => Record<string, string>;
  /** URL answering 200 once the service is ready. */
  readonly healthUrl: string;
  /** Where stdout and stderr of every incarnation are appended. */
  readonly logFile: string;
}

/**
 * One service of the cluster as a child process (`node tools/run.js <entry>`), killed with
 * SIGKILL by the chaos driver and started again. Exits it did not ask for are recorded, so a
 * service that dies on its own fails the run instead of being silently restarted.
 */
export class ServiceProcess {
  private child: ChildProcess | undefined;
  private incarnation = 0;
  private readonly out: WriteStream;
  private expectingExit = false;
  readonly unexpectedExits: string[] = [];

  constructor(readonly spec: ServiceSpec) {
    this.out = createWriteStream(spec.logFile, { flags: 'a' });
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts an incarnation and waits until its health URL answers 200. */
  async start(timeoutMs = 90_000): Promise<void> {
    if (this.child) throw new Error(`${this.spec.name} is already running`);
    const incarnation = ++this.incarnation;
    this.out.write(`\n=== ${this.spec.name} incarnation ${incarnation} at ${new Date().toISOString()}\n`);
    const child = spawn(process.execPath, [path.join(ROOT, 'tools', 'run.js'), this.spec.entry], {
      cwd: ROOT,
      env: { ...process.env, ...this.spec.env(incarnation) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.expectingExit = false;
    child.stdout!.pipe(this.out, { end: false });
    child.stderr!.pipe(this.out, { end: false });
    const exited = new Promise<string>((resolve) =>
      child.once('exit', (code, signal) => {
        if (this.child === child) this.child = undefined;
        const how = `${this.spec.name} (incarnation ${incarnation}) exited with ${signal ?? `code ${code}`}`;
        if (!this.expectingExit) this.unexpectedExits.push(how);
        resolve(how);
      }),
    );
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ready = await Promise.race([isHealthy(this.spec.healthUrl), exited.then((how) => how)]);
      if (ready === true) return;
      if (typeof ready === 'string') throw new Error(`${ready} during start-up; see ${this.spec.logFile}`);
      if (Date.now() > deadline) throw new Error(`${this.spec.name} not healthy within ${timeoutMs} ms; see ${this.spec.logFile}`);
      await sleep(150);
    }
  }

  /** The fault: SIGKILL, no clean-up of any kind. Resolves once the process is gone. */
  async kill(): Promise<void> {
    await this.terminate('SIGKILL');
  }

  /** A clean stop (SIGTERM), for the end of a run. */
  async stop(): Promise<void> {
    await this.terminate('SIGTERM');
  }

  async close(): Promise<void> {
    if (this.child) await this.terminate('SIGKILL');
    await new Promise<void>((resolve) => this.out.end(resolve));
  }

  private async terminate(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.expectingExit = true;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await gone;
    clearTimeout(timer);
    this.child = undefined;
  }
}

async function isHealthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
