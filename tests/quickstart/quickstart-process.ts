import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/** `npm start` as a user runs it, with its output collected and its readiness awaited. */
export interface QuickstartProcess {
  readonly child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /**
   * Ctrl-C (SIGINT to the process group, as a terminal sends it); resolves once every process
   * of the group has closed its output, with the quickstart's exit code (npm itself may die of
   * the signal; the code is read from the quickstart's last words).
   */
  interrupt(timeoutMs?: number): Promise<number | null>;
}

const root = join(__dirname, '..', '..');

export function startQuickstartProcess(args: readonly string[]): QuickstartProcess {
  // As on a fresh machine: no servers given, so the quickstart starts its own PostgreSQL and
  // uses its in-process log.
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true' };
  delete env['DATABASE_URL'];
  delete env['KAFKA_BROKERS'];
  const child = spawn('npm', ['start', '--', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let text = '';
  child.stdout!.on('data', (b: Buffer) => (text += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (text += b.toString()));
  // The pipes close when the last process holding them (npm's child, node) has exited.
  const closed = Promise.all([new Promise((r) => child.stdout!.once('close', r)), new Promise((r) => child.stderr!.once('close', r))]);
  return {
    child,
    output: () => text,
    async waitFor(pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = text.match(pattern);
        if (m) return m;
        if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode}) before printing ${pattern}:\n${text.slice(-3000)}`);
        if (Date.now() > deadline) throw new Error(`npm start did not print ${pattern} within ${timeoutMs} ms:\n${text.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async interrupt(timeoutMs = 30_000) {
      // npm forwards the signal to the process group it leads.
      process.kill(-child.pid!, 'SIGINT');
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, timeoutMs);
      await closed;
      clearTimeout(timer);
      return /Stopped\. Run `npm start` again/.test(text) ? 0 : child.exitCode;
    },
  };
}
