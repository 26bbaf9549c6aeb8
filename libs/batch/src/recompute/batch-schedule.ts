import { BatchRunInProgressError } from './batch-lock';
import type { RunMode } from './batch-plan';
import type { BatchLogger, BatchRunner, BatchRunSummary } from './batch-runner';

/**
 * Runs the batch on a timer: one run at start, then one `intervalMs` after the previous one
 * ended (never two at once in this process; the advisory lock keeps other processes out).
 * A run refused because another process holds the lock is skipped, not an error.
 */
export interface BatchScheduleStatus {
  readonly intervalMs: number;
  readonly running: boolean;
  readonly runs: number;
  readonly failures: number;
  /** Failed runs in a row (0 after a success). */
  readonly consecutiveFailures: number;
  readonly lastRun?: Pick<BatchRunSummary, 'runId' | 'generation' | 'mode' | 'durationMs' | 'records' | 'files'> & {
    readonly finishedAt: string;
    readonly views: readonly { readonly view: string; readonly batchVersion: number; readonly flipped: boolean; readonly rows: number; readonly driftCells: number }[];
  };
  readonly lastError?: { readonly message: string; readonly at: string };
  readonly nextRunAt?: string;
}

export class BatchSchedule {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private stopped = true;
  private runs = 0;
  private failures = 0;
  private consecutiveFailures = 0;
  private lastRun: BatchScheduleStatus['lastRun'];
  private lastError: BatchScheduleStatus['lastError'];
  private nextRunAt: number | undefined;

  constructor(
    private readonly runner: BatchRunner,
    private readonly options: { readonly intervalMs: number; readonly mode?: RunMode; readonly logger: BatchLogger },
  ) {}

  /** Starts the timer (no-op when the interval is 0). */
  start(): void {
    if (this.options.intervalMs <= 0 || !this.stopped) return;
    this.stopped = false;
    this.plan(0);
  }

  /** Stops the timer and waits for a run in progress to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.nextRunAt = undefined;
    await this.current;
  }

  /** Runs now (outside the timer), unless a run of this process is already in progress. */
  async runNow(mode: RunMode = this.options.mode ?? 'incremental'): Promise<void> {
    if (this.current) return this.current;
    this.current = this.once(mode).finally(() => (this.current = undefined));
    return this.current;
  }

  status(): BatchScheduleStatus {
    return {
      intervalMs: this.options.intervalMs,
      running: this.current !== undefined,
      runs: this.runs,
      failures: this.failures,
      consecutiveFailures: this.consecutiveFailures,
      ...(this.lastRun ? { lastRun: this.lastRun } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...(this.nextRunAt ? { nextRunAt: new Date(this.nextRunAt).toISOString() } : {}),
    };
  }

  private plan(delayMs: number): void {
    if (this.stopped) return;
    this.nextRunAt = Date.now() + delayMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.nextRunAt = undefined;
      void this.runNow().finally(() => this.plan(this.options.intervalMs));
    }, delayMs);
    this.timer.unref();
  }

  private async once(mode: RunMode): Promise<void> {
    try {
      const summary = await this.runner.run({ mode });
      this.runs++;
      this.consecutiveFailures = 0;
      this.lastRun = {
        runId: summary.runId,
        generation: summary.generation,
        mode: summary.mode,
        durationMs: summary.durationMs,
        records: summary.records,
        files: summary.files,
        finishedAt: new Date().toISOString(),
        views: summary.views.map((v) => ({ view: v.view, batchVersion: v.batchVersion, flipped: v.flipped, rows: v.rows, driftCells: v.conformity?.mismatches ?? 0 })),
      };
    } catch (error) {
      if (error instanceof BatchRunInProgressError) {
        this.options.logger.warn('scheduled batch run skipped: another process is running one');
        return;
      }
      this.failures++;
      this.consecutiveFailures++;
      this.lastError = { message: (error as Error).message, at: new Date().toISOString() };
      this.options.logger.error(`scheduled batch run failed (next attempt in ${this.options.intervalMs} ms): ${(error as Error).message}`);
    }
  }
}
