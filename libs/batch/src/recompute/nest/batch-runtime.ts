import type { Archiver, ArchiverOptions } from '../../archiver';
import type { RunMode } from '../batch-plan';
import type { BatchRunner, BatchRunnerOptions } from '../batch-runner';
import type { BatchSchedule } from '../batch-schedule';

/** What the Nest module is built from: the runner's options, the schedule and, optionally, the archiver's. */
export interface BatchDependencies {
  readonly runner: BatchRunnerOptions;
  /** Time between scheduled runs; 0 runs nothing on a timer. */
  readonly intervalMs: number;
  /** Mode of scheduled runs (default incremental; a run goes full by itself when it must). */
  readonly scheduledMode?: RunMode;
  /** The archiver to run in this process; absent when it runs elsewhere. */
  readonly archiver?: ArchiverOptions;
  /** Called on shutdown after everything stopped (closes what the factory opened). */
  readonly close?: () => Promise<void>;
}

/** What the module holds. */
export interface BatchRuntime {
  readonly runner: BatchRunner;
  readonly schedule: BatchSchedule;
  readonly archiver?: Archiver;
  readonly dependencies: BatchDependencies;
}
