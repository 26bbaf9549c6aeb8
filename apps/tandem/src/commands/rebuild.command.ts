import { loadBatchConfig } from '@tandem/batch';
import { ConfigError } from '@tandem/platform';
import { selectViews } from '@tandem/transforms';
import { type Command, Option } from 'commander';
import { parseCount, runBatch } from './batch-cli';

/**
 * `tandem rebuild --view V --from log|lake`: recomputes views from the start into a new batch
 * version and flips to it in one transaction, so readers see the old version until the new
 * one is complete and then the new one, never a mix.
 *
 * From the log (the Kappa path) the topic is read from offset 0 to its end with the same
 * contract decoding the speed layer applies and folded by the shared evaluator; from the lake
 * it is a full batch run. Either way the new version's cut is a chunk boundary at or past the
 * current one, and the realtime rows above it keep answering for the rest.
 */
export function registerRebuildCommand(program: Command): void {
  program
    .command('rebuild')
    .description('Recompute views from the start of the log (or the lake) into a new version, then flip to it')
    .requiredOption('--view <names...>', 'views to rebuild')
    .addOption(new Option('--from <source>', 'where the records come from').choices(['log', 'lake']).default('log'))
    .option('--workers <n>', 'worker threads scanning the lake (--from lake; default: BATCH_WORKERS)', (v) => parseCount('--workers', v))
    .option('--wait', 'wait for a batch run in progress instead of failing', false)
    .option('--no-progress', 'no progress bar (for logs and scripts)')
    .option('--json', 'print the run summary as JSON', false)
    .action(async (opts: { view: string[]; from: 'log' | 'lake'; workers?: number; wait: boolean; progress: boolean; json: boolean }) => {
      const config = loadBatchConfig(process.env);
      if (opts.from === 'log' && config.kafka === undefined) throw new ConfigError(['KAFKA_BROKERS: tandem rebuild --from log reads the log; set the brokers or use --from lake']);
      const views = selectViews(opts.view.flatMap((v) => v.split(',')).filter(Boolean), config.views);
      const summary = await runBatch(config, { mode: 'full', source: opts.from, views: views.map((v) => v.name), wait: opts.wait }, opts);
      if (summary.views.some((v) => (v.conformity?.mismatches ?? 0) > 0)) process.exitCode = 3;
      if (summary.views.some((v) => !v.flipped)) process.exitCode = process.exitCode ?? 4;
    });
}
