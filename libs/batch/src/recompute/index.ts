// The batch recompute: cut, lake scan (worker threads), versioned batch view tables, flip,
// conformity, BatchCompleted, retention.
export {
  createBatchRunner,
  type BatchLogger,
  type BatchPhase,
  type BatchProgress,
  type BatchRunHooks,
  type BatchRunner,
  type BatchRunnerOptions,
  type BatchRunRequest,
  type BatchRunSummary,
  type RunSource,
  type ViewRunSummary,
} from './batch-runner';
export { scanLog, LogGapError, type LogScanJob, type LogScanOutput } from './log-scan';
export { BATCH_SETTINGS, type BatchSettings, type BatchConfig, loadBatchConfig, runnerSettings } from './batch.config';
export { BatchSchedule, type BatchScheduleStatus } from './batch-schedule';
export { BatchRunInProgressError } from './batch-lock';
export { chooseBatchCut, rangesBetween, cutIsMonotone, type BatchCutInput, type BatchCutChoice } from './batch-cut';
export { planView, type ViewPlan, type RunMode, type FullRunReason } from './batch-plan';
export { assignShards, filesOfShard, parseShard, type ShardSpec, type ShardableFile } from './lake-shards';
export { batchTableName } from './batch-view-table';
export { readPointers, type BatchPointer } from './batch-pointer';
export { batchMetrics, type BatchMetrics } from './batch-metrics';
export { countedView, countedAggregator, type CountedState } from './counted-view';
