import { type BatchConfig, type BatchProgress, type BatchRunRequest, type BatchRunSummary, createBatchRunner, runnerSettings } from '@tandem/batch';
import { KafkaLog, lakeStorageFromSettings, openDatabase } from '@tandem/platform';
import { SingleBar } from 'cli-progress';
import { Registry } from 'prom-client';

/** What the batch commands share: the runner opened from the batch settings, progress and summary. */
export async function openBatchRunner(config: BatchConfig, workers?: number) {
  const db = await openDatabase({ ...config.database, applicationName: 'tandem-batch-cli' });
  const log = config.kafka ? new KafkaLog(config.kafka) : undefined;
  const runner = createBatchRunner({
    ...runnerSettings(config),
    db,
    storage: lakeStorageFromSettings(config.lake),
    log,
    registry: new Registry(),
    workers: workers ?? config.workers,
    logger: cliLogger(),
  });
  return { db, log, runner };
}

/** One run with a progress bar on a terminal (a line per phase otherwise) and the summary on stdout. */
export async function runBatch(
  config: BatchConfig,
  request: Omit<BatchRunRequest, 'onProgress'>,
  opts: { readonly workers?: number; readonly progress: boolean; readonly json: boolean },
): Promise<BatchRunSummary> {
  const { db, log, runner } = await openBatchRunner(config, opts.workers);
  const bar = opts.progress && process.stderr.isTTY ? progressBar() : undefined;
  try {
    const summary = await runner.run({ ...request, onProgress: bar ? (p) => bar.update(p) : opts.progress ? lineProgress() : undefined });
    bar?.stop();
    process.stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : describeRun(summary));
    return summary;
  } finally {
    bar?.stop();
    await runner.close();
    await log?.close();
    await db.close();
  }
}

export function parseCount(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} expects a whole number, got ${JSON.stringify(value)}`);
  return n;
}

export function progressBar() {
  const bar = new SingleBar(
    {
      format: ' {phase} |{bar}| {files}/{filesTotal} files | {records}/{recordsTotal} records | {rate} rec/s | {rows} rows written | {elapsed}s',
      barCompleteChar: '█',
      barIncompleteChar: '░',
      hideCursor: true,
      stream: process.stderr,
      fps: 8,
    },
  );
  let started = false;
  // The read rate of the scan; it stays as it was once the scan is over.
  let rate = 0;
  return {
    update(p: BatchProgress) {
      if (p.phase === 'scan' && p.elapsedMs > 0) rate = Math.round((p.records * 1000) / p.elapsedMs);
      const payload = {
        phase: p.phase.padEnd(7),
        files: p.files,
        filesTotal: p.filesTotal,
        records: p.records.toLocaleString('en'),
        recordsTotal: p.recordsTotal.toLocaleString('en'),
        rate: rate.toLocaleString('en'),
        rows: p.rowsWritten.toLocaleString('en'),
        elapsed: (p.elapsedMs / 1000).toFixed(1),
      };
      if (!started) {
        bar.start(Math.max(1, p.recordsTotal), p.records, payload);
        started = true;
      }
      bar.setTotal(Math.max(1, p.recordsTotal));
      bar.update(p.records, payload);
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

/** Without a terminal: one line per phase. */
export function lineProgress() {
  let phase = '';
  return (p: BatchProgress) => {
    if (p.phase === phase) return;
    phase = p.phase;
    process.stderr.write(`[batch] ${p.phase} (${(p.elapsedMs / 1000).toFixed(1)} s, ${p.records}/${p.recordsTotal} records, ${p.files}/${p.filesTotal} files)\n`);
  };
}

function cliLogger() {
  return {
    // The summary printed at the end says what the runner's own log line would.
    log: () => undefined,
    warn: (m: string) => process.stderr.write(`warning: ${m}\n`),
    error: (m: string) => process.stderr.write(`error: ${m}\n`),
  };
}

export function describeRun(s: BatchRunSummary): string {
  const lines = [
    `batch run ${s.runId} (generation ${s.generation}, ${s.source === 'log' ? 'full, rebuilt from the log' : s.mode}) completed in ${(s.durationMs / 1000).toFixed(2)} s`,
    s.source === 'log'
      ? `  read ${s.records.toLocaleString('en')} records from the log (${s.rejected.toLocaleString('en')} rejected by the contract, ${s.recordsPerSecond.toLocaleString('en')} records/s)`
      : `  read ${s.records.toLocaleString('en')} records from ${s.files} files (${s.recordsPerSecond.toLocaleString('en')} records/s, ${s.workers || 'no'} worker threads)`,
    `  phases: ${Object.entries(s.timingsMs).map(([k, v]) => `${k} ${v} ms`).join(', ')}`,
    '',
    `  ${'view'.padEnd(28)} ${'mode'.padEnd(12)} ${'version'.padStart(7)} ${'rows'.padStart(10)} ${'events'.padStart(12)}  conformity`,
  ];
  for (const v of s.views) {
    const c = v.conformity;
    const conformity = c === undefined ? '-' : `${c.compared} chunks compared, ${c.notCompared} not compared, ${c.mismatches} drifting cells`;
    lines.push(
      `  ${v.view.padEnd(28)} ${(v.flipped ? v.mode : 'unchanged').padEnd(12)} ${String(v.batchVersion).padStart(7)} ${v.rows.toLocaleString('en').padStart(10)} ${v.events.toLocaleString('en').padStart(12)}  ${conformity}`,
    );
  }
  if (s.realtimeRowsDeleted > 0) lines.push('', `  retired ${s.realtimeRowsDeleted} realtime rows below the new cuts`);
  if (s.droppedVersions.length > 0) lines.push(`  dropped ${s.droppedVersions.length} old or unfinished versions`);
  if (s.abandonedRuns.length > 0) lines.push(`  closed runs abandoned by a stopped process: ${s.abandonedRuns.join(', ')}`);
  lines.push(`  BatchCompleted ${s.published ? 'published' : 'not published (no KAFKA_BROKERS, or the publish failed)'}`);
  return `${lines.join('\n')}\n`;
}

