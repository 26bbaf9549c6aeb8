import { streamByName } from '@tandem/contracts';
import { SingleBar } from 'cli-progress';
import { type Command, Option } from 'commander';
import { parseCount } from './batch-cli';
import { formatOf, openEventSource, REPLAY_FORMATS, type ReplayFormat } from '../replay/event-source';
import { replay, type ReplayProgress, type ReplaySummary } from '../replay/replay';

/**
 * `tandem replay <file> --stream S`: sends a file of events through ingest (JSON lines, a JSON
 * array, an Apache access log, or flights-3m's Parquet file), with a progress bar and a
 * summary of what ingest accepted and rejected and why. Exit code 0 when every event was
 * accepted, 2 when some were rejected or unreadable, 1 when the replay stopped.
 */
export function registerReplayCommand(program: Command): void {
  program
    .command('replay <file>')
    .description('Send a file of events through ingest (REST), with per-event results')
    .requiredOption('--stream <name>', 'the stream the events belong to (http_requests, flights)')
    .addOption(new Option('--format <format>', 'file format (default: from the file name)').choices([...REPLAY_FORMATS]))
    .addOption(new Option('--ingest-url <url>', 'ingest REST API').env('TANDEM_INGEST_URL').default('http://127.0.0.1:3001'))
    .addOption(new Option('--api-key <key>', 'write API key, when ingest requires one').env('TANDEM_INGEST_API_KEY'))
    .option('--batch <n>', 'events per request', (v) => parseCount('--batch', v), 500)
    .option('--rate <n>', 'events per second at most (0: no limit)', (v) => parseCount('--rate', v), 0)
    .option('--skip <n>', 'file records to pass over first (resume after a stop)', (v) => parseCount('--skip', v), 0)
    .option('--limit <n>', 'events to send at most', (v) => parseCount('--limit', v))
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the summary as JSON', false)
    .action(
      async (
        file: string,
        opts: { stream: string; format?: ReplayFormat; ingestUrl: string; apiKey?: string; batch: number; rate: number; skip: number; limit?: number; progress: boolean; json: boolean },
      ) => {
        streamByName(opts.stream);
        if (opts.batch < 1) throw new Error('--batch must be at least 1');
        const format = opts.format ?? formatOf(file, opts.stream);
        const source = await openEventSource(file, format);
        const bar = opts.progress && process.stderr.isTTY ? progressBar(source.unit) : undefined;
        let summary: ReplaySummary;
        try {
          summary = await replay(source, { ...opts, onProgress: bar ? (p) => bar.update(p) : undefined });
        } finally {
          bar?.stop();
        }
        process.stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : describe(file, opts.stream, summary));
        if (summary.rejected > 0 || summary.unreadable > 0) process.exitCode = 2;
      },
    );
}

function progressBar(unit: 'bytes' | 'rows') {
  const bar = new SingleBar({
    format: ` replay |{bar}| {percentage}% | {sent} sent | {accepted} accepted | {rejected} rejected | {unreadable} unreadable | {rate} ev/s`,
    barCompleteChar: '█',
    barIncompleteChar: '░',
    hideCursor: true,
    stream: process.stderr,
    fps: 8,
  });
  const started = Date.now();
  let running = false;
  return {
    update(p: ReplayProgress) {
      const payload = { sent: p.sent, accepted: p.accepted, rejected: p.rejected, unreadable: p.unreadable, rate: Math.round((p.sent * 1000) / Math.max(1, Date.now() - started)), unit };
      if (!running) {
        bar.start(Math.max(1, p.total), p.position, payload);
        running = true;
      }
      bar.update(p.position, payload);
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}

function describe(file: string, stream: string, s: ReplaySummary): string {
  const lines = [
    `replayed ${file} into ${stream} in ${(s.elapsedMs / 1000).toFixed(1)} s: ${s.sent} events sent, ${s.accepted} accepted, ${s.rejected} rejected, ${s.unreadable} unreadable records`,
  ];
  if (s.problems.length > 0) lines.push('first problems:', ...s.problems.map((p) => `  ${p}`));
  return `${lines.join('\n')}\n`;
}
