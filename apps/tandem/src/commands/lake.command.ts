import { streamByName, streamNames } from '@tandem/contracts';
import { LAKE_SETTINGS, LakeManifest, lakeStorageFromSettings, loadConfig } from '@tandem/platform';
import { Type } from '@sinclair/typebox';
import type { Command } from 'commander';

/**
 * `tandem lake ls [--stream s] [--files] [--json]`: what the lake's manifest holds per stream
 * and partition (entries, rows, bytes, contiguous coverage), optionally every entry.
 */
export function registerLakeCommands(program: Command): void {
  const lake = program.command('lake').description('The master dataset: immutable files and their manifest');

  lake
    .command('ls')
    .description('Show the manifest: per stream and partition, entries, rows, bytes and coverage')
    .option('--stream <name>', `one stream (${streamNames.join(', ')})`)
    .option('--files', 'list every entry (offset range, rows, file)', false)
    .option('--json', 'print the manifest snapshot as JSON', false)
    .action(async (opts: { stream?: string; files: boolean; json: boolean }) => {
      const settings = loadConfig(Type.Object(LAKE_SETTINGS), process.env);
      const storage = lakeStorageFromSettings(settings);
      const manifest = new LakeManifest(storage);
      const streams = opts.stream ? [streamByName(opts.stream).name] : [...streamNames];
      const out: string[] = [`lake ${storage.location}`];
      const json: Record<string, unknown> = {};
      for (const stream of streams) {
        const snapshot = await manifest.snapshot(stream);
        json[stream] = {
          partitions: Object.fromEntries(
            [...snapshot.partitions].map(([p, chain]) => [p, { coveredUntil: chain.nextOffset, entries: chain.entries, superseded: chain.superseded.length, detached: chain.detached.length }]),
          ),
        };
        const rows = snapshot.entries.reduce((s, e) => s + e.rows, 0);
        const bytes = snapshot.entries.reduce((s, e) => s + e.bytes, 0);
        out.push('', `${stream}: ${snapshot.entries.length} entries, ${rows.toLocaleString('en')} rows, ${formatBytes(bytes)}`);
        if (snapshot.partitions.size === 0) out.push('  (empty)');
        for (const [p, chain] of snapshot.partitions) {
          const pRows = chain.entries.reduce((s, e) => s + e.rows, 0);
          const skipped = chain.entries.reduce((s, e) => s + e.skipped, 0);
          const last = chain.entries.at(-1)?.writtenAt ?? '-';
          const extra = [chain.superseded.length > 0 && `${chain.superseded.length} superseded`, chain.detached.length > 0 && `${chain.detached.length} detached`].filter(Boolean);
          out.push(
            `  p${String(p).padEnd(3)} covered to offset ${String(chain.nextOffset).padStart(10)}  ${String(chain.entries.length).padStart(5)} entries ${pRows.toLocaleString('en').padStart(12)} rows ${String(skipped).padStart(6)} skipped  last written ${last}${extra.length ? `  (${extra.join(', ')})` : ''}`,
          );
          if (opts.files) {
            for (const e of chain.entries) {
              out.push(`      [${e.fromOffset}, ${e.nextOffset})  ${String(e.rows).padStart(8)} rows  ${formatBytes(e.bytes).padStart(9)}  ${e.file ?? '(no file: every record skipped)'}`);
            }
          }
        }
      }
      process.stdout.write(opts.json ? `${JSON.stringify(json, null, 2)}\n` : `${out.join('\n')}\n`);
    });
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
