import { type BatchProgress, type BatchRunSummary, createBatchRunner, loadBatchConfig, readPointers } from '@tandem/batch';
import { type Database, KafkaLog, lakeStorageFromSettings, openDatabase } from '@tandem/platform';
import { selectViews } from '@tandem/transforms';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { Registry } from 'prom-client';

/**
 * `tandem batch run [--full] [--view ...]`: one batch run now, with a progress bar (files,
 * records, rate) and a summary. `tandem batch status`: the current version of each view and
 * the last runs. Settings come from the environment, as for the batch service; without
 * KAFKA_BROKERS the run publishes no BatchCompleted.
 */
export function registerBatchCommands(program: Command): void {
  const batch = program.command('batch').description('The batch layer: recompute the views from the lake');

  batch
    .command('run')
    .description('Run the batch recompute now (incremental unless --full)')
    .option('--full', 'recompute every view from the whole lake', false)
    .option('--view <names...>', 'views to recompute (default: TANDEM_VIEWS)')
    .option('--workers <n>', 'worker threads scanning the lake (default: BATCH_WORKERS)', (v) => parseCount('--workers', v))
    .option('--wait', 'wait for a run in progress elsewhere instead of failing', false)
    .option('--no-progress', 'no progress bar (for logs and scripts)')
    .option('--json', 'print the run summary as JSON', false)
    .action(async (opts: { full: boolean; view?: string[]; workers?: number; wait: boolean; progress: boolean; json: boolean }) => {
      const config = loadBatchConfig(process.env);
      const views = selectViews((opts.view ?? []).flatMap((v) => v.split(',')).filter(Boolean), config.views);
      const db = await openDatabase({ ...config.database, applicationName: 'tandem-batch-cli' });
      const log = config.kafka ? new KafkaLog(config.kafka) : undefined;
      const bar = opts.progress && process.stderr.isTTY ? progressBar() : undefined;
      const runner = createBatchRunner({
        db,
        storage: lakeStorageFromSettings(config.lake),
        lakeSettings: config.lake,
        views: config.views,
        chunkSize: config.chunkSize,
        log,
        registry: new Registry(),
        workers: opts.workers ?? config.workers,
        minRowsPerWorker: config.minRowsPerWorker,
        retention: config.retention,
        compactRatio: config.compactRatio,
        topicPrefix: config.topicPrefix,
        speedConsumer: config.speedConsumer,
        verifyFiles: config.verifyFiles,
        logger: cliLogger(),
      });
      try {
        const summary = await runner.run({
          mode: opts.full ? 'full' : 'incremental',
          views: views.map((v) => v.name),
          wait: opts.wait,
          onProgress: bar ? (p) => bar.update(p) : opts.progress ? lineProgress() : undefined,
        });
        bar?.stop();
        process.stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : describeRun(summary));
        if (summary.views.some((v) => (v.conformity?.mismatches ?? 0) > 0)) process.exitCode = 3;
      } finally {
        bar?.stop();
        await runner.close();
        await log?.close();
        await db.close();
      }
    });

  batch
    .command('status')
    .description('Show the current batch version of each view and the last runs')
    .option('--runs <n>', 'runs to list', (v) => parseCount('--runs', v), 5)
    .action(async (opts: { runs: number }) => {
      const config = loadBatchConfig(process.env);
      const db = await openDatabase({ ...config.database, applicationName: 'tandem-batch-cli' });
      try {
        process.stdout.write(await describeStatus(db, opts.runs));
      } finally {
        await db.close();
      }
    });
}

function parseCount(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} expects a whole number, got ${JSON.stringify(value)}`);
  return n;
}

function progressBar() {
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
function lineProgress() {
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

function describeRun(s: BatchRunSummary): string {
  const lines = [
    `batch run ${s.runId} (generation ${s.generation}, ${s.mode}) completed in ${(s.durationMs / 1000).toFixed(2)} s`,
    `  read ${s.records.toLocaleString('en')} records from ${s.files} files (${s.recordsPerSecond.toLocaleString('en')} records/s, ${s.workers || 'no'} worker threads)`,
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

async function describeStatus(db: Database, runs: number): Promise<string> {
  const pointers = await readPointers(db.pool);
  const lines = ['current batch versions:'];
  if (pointers.size === 0) lines.push('  (none yet: run `tandem batch run`)');
  for (const p of pointers.values()) {
    lines.push(`  ${p.view.padEnd(28)} v${p.batchVersion} ${p.transformVersion} table ${p.table} cut ${JSON.stringify(p.cut)}`);
  }
  const { rows } = await db.pool.query(
    `SELECT run_id, generation, mode, status, started_at, finished_at, error,
            (SELECT sum((c->>'mismatches')::int) FROM jsonb_array_elements(coalesce(conformity, '[]'::jsonb)) c) AS drift
       FROM tandem_batch_runs ORDER BY generation DESC LIMIT $1`,
    [runs],
  );
  lines.push('', 'last runs:');
  for (const r of rows) {
    const took = r.finished_at ? `${((new Date(r.finished_at).getTime() - new Date(r.started_at).getTime()) / 1000).toFixed(1)} s` : 'running';
    lines.push(`  ${r.run_id.padEnd(24)} ${r.mode.padEnd(12)} ${r.status.padEnd(10)} ${took.padStart(8)}  drift ${r.drift ?? 0}${r.error ? `  error: ${r.error}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
