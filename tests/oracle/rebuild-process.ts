import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

export type RebuildOutcome = 'completed' | 'killed' | 'failed';

/**
 * `tandem rebuild --view V --from log` as an operator would run it against the cluster: a
 * process of its own, with the cluster's settings, optionally SIGKILLed after `killAfterMs`
 * (a rebuild dying at any point must leave the serving version intact and the next run right).
 */
export function runRebuild(options: {
  readonly view: string;
  readonly env: Record<string, string>;
  readonly logFile: string;
  readonly killAfterMs?: number;
}): Promise<{ outcome: RebuildOutcome; detail: string }> {
  appendFileSync(options.logFile, `\n=== rebuild ${options.view} at ${new Date().toISOString()}${options.killAfterMs === undefined ? '' : `, SIGKILL after ${options.killAfterMs} ms`}\n`);
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'tools', 'run.js'), 'apps/tandem/src/main.ts', 'rebuild', '--view', options.view, '--from', 'log', '--wait', '--no-progress'],
    { cwd: ROOT, env: { ...process.env, ...options.env, BATCH_WORKERS: '0' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  let killed = false;
  const timer =
    options.killAfterMs === undefined
      ? undefined
      : setTimeout(() => {
          killed = true;
          child.kill('SIGKILL');
        }, options.killAfterMs);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      appendFileSync(options.logFile, output);
      const detail = `rebuild of ${options.view} exited with ${signal ?? `code ${code}`}`;
      // A kill that came after the process finished on its own is no fault.
      if (code === 0) resolve({ outcome: 'completed', detail });
      else if (killed && signal === 'SIGKILL') resolve({ outcome: 'killed', detail });
      else resolve({ outcome: 'failed', detail: `${detail}: ${output.trim().split('\n').slice(-3).join(' | ')}` });
    });
  });
}
