import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

export type RebuildOutcome = 'completed' | 'killed' | 'failed';

/** Phases of a run as the command reports them on stderr (`[batch] <phase> ...`). */
export const REBUILD_PHASES = ['plan', 'scan', 'write', 'flip'] as const;

export interface RebuildKill {
  /** The phase whose start arms the kill. */
  readonly phase: (typeof REBUILD_PHASES)[number];
  /** Delay after the phase starts. */
  readonly afterMs: number;
}

/**
 * `tandem rebuild --view V --from log` as an operator would run it against the cluster: a
 * process of its own, with the cluster's settings, optionally SIGKILLed `afterMs` into a phase
 * of its run (a rebuild dying at any point must leave the serving version intact and the
 * next run right).
 */
export function runRebuild(options: {
  readonly view: string;
  readonly env: Record<string, string>;
  readonly logFile: string;
  readonly kill?: RebuildKill;
}): Promise<{ outcome: RebuildOutcome; detail: string }> {
  const { kill } = options;
  appendFileSync(options.logFile, `\n=== rebuild ${options.view} at ${new Date().toISOString()}${kill === undefined ? '' : `, SIGKILL ${kill.afterMs} ms into ${kill.phase}`}\n`);
  const child = spawn(
    process.execPath,
    // Without a terminal the command reports each phase in a line on stderr: the kill's cue.
    [path.join(ROOT, 'tools', 'run.js'), 'apps/tandem/src/main.ts', 'rebuild', '--view', options.view, '--from', 'log', '--wait'],
    { cwd: ROOT, env: { ...process.env, ...options.env, BATCH_WORKERS: '0' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  let killed = false;
  let timer: NodeJS.Timeout | undefined;
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString();
    if (kill !== undefined && timer === undefined && output.includes(`[batch] ${kill.phase} `)) {
      timer = setTimeout(() => {
        killed = true;
        child.kill('SIGKILL');
      }, kill.afterMs);
    }
  });
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
