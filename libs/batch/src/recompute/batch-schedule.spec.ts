import { BatchRunInProgressError } from './batch-lock';
import type { BatchRunner, BatchRunSummary } from './batch-runner';
import { BatchSchedule } from './batch-schedule';

const summary = (generation: number): BatchRunSummary =>
  ({
    runId: `batch-${generation}`,
    generation,
    mode: 'incremental',
    views: [{ view: 'v', batchVersion: generation, flipped: true, rows: 3, conformity: { mismatches: 1 } }],
    files: 1,
    records: 10,
    durationMs: 5,
  }) as unknown as BatchRunSummary;

function fakeRunner(outcomes: (() => Promise<BatchRunSummary>)[]): BatchRunner & { calls: number } {
  const runner = {
    calls: 0,
    run: async () => outcomes[Math.min(runner.calls++, outcomes.length - 1)](),
    close: async () => undefined,
  };
  return runner;
}

const logger = () => ({ log: jest.fn(), warn: jest.fn(), error: jest.fn() });

describe('BatchSchedule', () => {
  afterEach(() => jest.useRealTimers());

  it('runs at start, then an interval after each run ends, and stops cleanly', async () => {
    jest.useFakeTimers();
    const runner = fakeRunner([async () => summary(1), async () => summary(2)]);
    const schedule = new BatchSchedule(runner, { intervalMs: 1000, logger: logger() });
    schedule.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(runner.calls).toBe(1);
    await jest.advanceTimersByTimeAsync(999);
    expect(runner.calls).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(runner.calls).toBe(2);
    expect(schedule.status()).toMatchObject({ runs: 2, failures: 0, lastRun: { generation: 2, views: [{ view: 'v', driftCells: 1 }] } });
    await schedule.stop();
    await jest.advanceTimersByTimeAsync(5000);
    expect(runner.calls).toBe(2);
  });

  it('counts failures, logs them, and skips quietly when another process holds the lock', async () => {
    const log = logger();
    const runner = fakeRunner([
      async () => {
        throw new Error('lake unreachable');
      },
      async () => {
        throw new BatchRunInProgressError();
      },
      async () => summary(3),
    ]);
    const schedule = new BatchSchedule(runner, { intervalMs: 0, logger: log });
    await schedule.runNow();
    expect(schedule.status()).toMatchObject({ failures: 1, consecutiveFailures: 1, lastError: { message: 'lake unreachable' } });
    expect(log.error).toHaveBeenCalledTimes(1);
    await schedule.runNow();
    expect(schedule.status()).toMatchObject({ failures: 1, consecutiveFailures: 1 });
    expect(log.warn).toHaveBeenCalledTimes(1);
    await schedule.runNow();
    expect(schedule.status()).toMatchObject({ runs: 1, consecutiveFailures: 0 });
  });

  it('does not start a timer when the interval is 0', async () => {
    jest.useFakeTimers();
    const runner = fakeRunner([async () => summary(1)]);
    const schedule = new BatchSchedule(runner, { intervalMs: 0, logger: logger() });
    schedule.start();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(runner.calls).toBe(0);
  });
});
