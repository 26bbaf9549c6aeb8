import { loadBatchConfig, readPointers } from '@tandem/batch';
import { type Database, openDatabase } from '@tandem/platform';
import { selectViews } from '@tandem/transforms';
import type { Command } from 'commander';
import { parseCount, runBatch } from './batch-cli';

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
      const summary = await runBatch(config, { mode: opts.full ? 'full' : 'incremental', views: views.map((v) => v.name), wait: opts.wait }, opts);
      if (summary.views.some((v) => (v.conformity?.mismatches ?? 0) > 0)) process.exitCode = 3;
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
