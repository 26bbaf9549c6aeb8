import type { Command } from 'commander';
import { QUICKSTART_DEFAULTS, startQuickstart } from '../quickstart/quickstart';

const int = (name: string, min: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got "${value}"`);
  return n;
};

/**
 * `tandem start` (what `npm start` runs): every layer in one process on embedded defaults.
 * Prints what runs where, then a status line every few seconds; Ctrl-C stops everything
 * cleanly, and the next start resumes from the data directory.
 */
export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('Run every layer in one process on embedded defaults (the quickstart)')
    .option('--data-dir <dir>', 'where the log, the lake and PostgreSQL keep their data', QUICKSTART_DEFAULTS.dataDir)
    .option('--rate <n>', 'simulated seconds of flights per real second', int('--rate', 1), QUICKSTART_DEFAULTS.rate)
    .option('--port <n>', 'HTTP port (REST, Swagger UI, dashboard)', int('--port', 0), QUICKSTART_DEFAULTS.httpPort)
    .option('--grpc-port <n>', 'gRPC port', int('--grpc-port', 0), QUICKSTART_DEFAULTS.grpcPort)
    .option('--batch-interval <seconds>', 'seconds between batch runs', int('--batch-interval', 1), QUICKSTART_DEFAULTS.batchIntervalMs / 1000)
    .option('--chunk-size <n>', 'offsets per chunk (fixed for a data directory)', int('--chunk-size', 1), QUICKSTART_DEFAULTS.chunkSize)
    .option('--limit <n>', 'replay at most this many flights', int('--limit', 1))
    .action(async (opts: { dataDir: string; rate: number; port: number; grpcPort: number; batchInterval: number; chunkSize: number; limit?: number }) => {
      console.log('Tandem quickstart: starting PostgreSQL, the log, speed, archiver, batch and serving...');
      const qs = await startQuickstart({
        dataDir: opts.dataDir,
        rate: opts.rate,
        httpPort: opts.port,
        grpcPort: opts.grpcPort,
        batchIntervalMs: opts.batchInterval * 1000,
        chunkSize: opts.chunkSize,
        limit: opts.limit,
      });
      const base = qs.httpUrl.replace(/\/$/, '');
      console.log(
        [
          '',
          `Tandem is running (log: ${qs.logKind}, data: ${opts.dataDir}). Replaying flights-3m at ${opts.rate} s per second.`,
          `  Dashboard   ${base}/dashboard`,
          `  Swagger UI  ${base}/docs`,
          `  REST API    ${base}/v1/views`,
          `  gRPC        127.0.0.1:${qs.grpcPort} (tandem.v1.Query, with reflection)`,
          `  PostgreSQL  ${qs.databaseUrl}`,
          '',
          'Try:',
          `  curl '${base}/v1/views/flights_per_origin_hour/series?key=ORD&from=2001-01-01T00:00:00Z&to=2001-01-02T00:00:00Z'`,
          `  curl '${base}/v1/views/flights_per_origin_hour/top?aggregate=flights&from=2001-01-01T00:00:00Z&to=2001-02-01T00:00:00Z&n=5'`,
          '',
          'Ready. Press Ctrl-C to stop.',
        ].join('\n'),
      );
      const status = setInterval(() => {
        const r = qs.replay.status();
        const last = qs.batchRuns[qs.batchRuns.length - 1];
        const sim = r.simulatedNow === null ? '-' : new Date(r.simulatedNow).toISOString().slice(0, 16).replace('T', ' ');
        console.log(`[status] replayed ${r.published} flights (clock ${sim})${r.done ? ', replay done' : ''}; batch runs: ${qs.batchRunTotals.completed}${qs.batchRunTotals.failed > 0 ? ` (+${qs.batchRunTotals.failed} failed)` : ''}${last?.error ? ` (last failed: ${last.error})` : ''}`);
      }, 10_000);
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        clearInterval(status);
        console.log(`\n${signal}: stopping (the in-flight work commits or rolls back)...`);
        await qs.stop();
        console.log('Stopped. Run `npm start` again to resume from the data directory.');
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    });
}
