// Batch layer benchmark (not a test): builds a lake from flights-3m, runs a full recompute of
// flights_per_origin_hour and flights_per_route_day from it, and DuckDB computing the same
// aggregations over the same Parquet files in the same run, in several interleaved rounds
// (the machine may be shared: whatever else runs then falls on both alike, and the median
// round is reported); then appends 1% new data and runs an incremental recompute. Besides wall times it reports CPU time (this process's threads,
// the PostgreSQL server's processes, DuckDB's threads), which a shared machine disturbs less,
// and the shared evaluator's own cost measured in memory, to show what part of the run it is.
// Writes the figures into the "Batch layer" section of BENCHMARKS.md.
//
//   node tools/run.js bench/batch/run.ts [--rows N] [--workers N] [--rounds N] [--no-write]
//
// Uses DATABASE_URL when set, or starts the test harness' embedded PostgreSQL.
import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { createBatchRunner, type BatchRunSummary } from '@tandem/batch';
import { flights } from '@tandem/contracts';
import { flightsRowCount, LocalLakeStorage, openDatabase, readFlights } from '@tandem/platform';
import { startPostgres } from '@tandem/testkit';
import { flightsPerOriginHour, flightsPerRouteDay } from '@tandem/transforms';
import { Command } from 'commander';
import { Registry } from 'prom-client';
import { LakeFixture } from '../../libs/batch/src/recompute/testing/lake-fixture';
import { describeMachine } from '../speed/machine';
import { writeSection } from '../shared/benchmarks-file';
import { postgresCpuMs, processCpuMs } from './cpu-time';
import { runDuckDb } from './duckdb-peer';
import { type EvaluatorCost, measureEvaluator } from './evaluator-cost';

const FILE_ROWS = 50_000; // the archiver's default file size
const CHUNK_SIZE = 10_000;
const EVALUATOR_EVENTS = 300_000;
const VIEWS = [flightsPerOriginHour, flightsPerRouteDay];

async function main(): Promise<void> {
  const opts = new Command('bench-batch')
    .option('--rows <n>', 'flights to use (default: all of flights-3m)', Number)
    .option('--workers <n>', 'threads of the batch scan (the calling one included) and DuckDB threads', Number, availableParallelism())
    .option('--rounds <n>', 'full recomputes and DuckDB runs, in alternation', Number, 3)
    .option('--no-write', 'do not update BENCHMARKS.md')
    .parse(process.argv)
    .opts<{ rows?: number; workers: number; rounds: number; write: boolean }>();
  if (!(Number.isInteger(opts.rounds) && opts.rounds >= 1)) throw new Error(`--rounds must be a positive integer, got ${opts.rounds}`);
  const total = opts.rows ?? (await flightsRowCount());
  const increment = Math.floor(total / 100);
  const base = total - increment;
  const say = (line: string) => process.stderr.write(`[bench/batch] ${line}\n`);

  const pg = process.env['DATABASE_URL'] ? undefined : await startPostgres();
  const url = process.env['DATABASE_URL'] ?? pg!.url;
  const lakeDir = await mkdtemp(path.join(tmpdir(), 'tandem-bench-lake-'));
  const db = await openDatabase({ url, schema: `bench_batch_${Date.now()}` });
  try {
    // The lake: 99% of the flights, by key over the stream's partitions, in archiver-sized files.
    const lake = new LakeFixture(new LocalLakeStorage(lakeDir), flights);
    let t = performance.now();
    let appended = 0;
    const tail: unknown[] = [];
    for await (const slice of readFlights({ limit: total, batchSize: 100_000 })) {
      const keep = slice.slice(0, Math.max(0, base - appended));
      tail.push(...slice.slice(keep.length));
      if (keep.length > 0) await lake.appendByKey(keep, FILE_ROWS);
      appended += keep.length;
    }
    const lakeSeconds = (performance.now() - t) / 1000;
    say(`lake of ${base.toLocaleString('en')} flights written in ${lakeSeconds.toFixed(1)} s`);

    const runner = createBatchRunner({
      db,
      storage: new LocalLakeStorage(lakeDir),
      views: VIEWS,
      chunkSize: CHUNK_SIZE,
      registry: new Registry(),
      workers: opts.workers,
      // The rounds' extra full versions are the measurement's own: all are kept, so that the
      // incremental run drops none of them, as after a single full run.
      retention: opts.rounds + 1,
      logger: { log: say, warn: say, error: say },
    });
    const pgCpu = () => (pg === undefined ? undefined : postgresCpuMs(pg.port));
    const fullRun = async (): Promise<FullRound['full']> => {
      const cpuBefore = { node: processCpuMs(), pg: pgCpu() };
      const summary = await runner.run({ mode: 'full' });
      const pgAfter = pgCpu();
      const cpu = {
        node: processCpuMs() - cpuBefore.node,
        pg: pgAfter === undefined || cpuBefore.pg === undefined ? undefined : pgAfter - cpuBefore.pg,
      };
      say(`full: ${summary.records} records in ${summary.durationMs} ms ${JSON.stringify(summary.timingsMs)}, CPU ${JSON.stringify(cpu)}`);
      return { summary, cpu };
    };
    const peerRun = async (cut: Readonly<Record<string, number>>) => {
      const peer = await runDuckDb(lakeDir, cut, opts.workers);
      say(`DuckDB: ${peer.rows} rows in ${(peer.seconds * 1000).toFixed(0)} ms (CPU ${(peer.cpuSeconds * 1000).toFixed(0)} ms), cells ${JSON.stringify(peer.cells)}`);
      return peer;
    };
    // Rounds alternate which of the two goes first. Every full run has the same cut (the lake
    // does not change between them), which DuckDB is given.
    const rounds: FullRound[] = [];
    for (let i = 0; i < opts.rounds; i++) {
      if (i % 2 === 0) {
        const full = await fullRun();
        rounds.push({ full, peer: await peerRun(full.summary.views[0].cut) });
      } else {
        const peer = await peerRun(rounds[0].full.summary.views[0].cut);
        rounds.push({ full: await fullRun(), peer });
      }
    }
    const byRatio = [...rounds].sort((a, b) => ratioOf(a) - ratioOf(b));
    const median = byRatio[Math.floor((byRatio.length - 1) / 2)];
    const { summary: full, cpu: fullCpu } = median.full;
    const peer = median.peer;

    t = performance.now();
    await lake.appendByKey(tail, FILE_ROWS);
    say(`appended ${tail.length} flights in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const incremental = await runner.run({ mode: 'incremental' });
    say(`incremental: ${incremental.records} records in ${incremental.durationMs} ms ${JSON.stringify(incremental.timingsMs)}`);
    await runner.close();
    const evaluator = await measureEvaluator(VIEWS, Math.min(EVALUATOR_EVENTS, total));
    say(`evaluator in memory: ${JSON.stringify(evaluator)}`);

    const report = describe({ total, base, increment: tail.length, lakeSeconds, full, fullCpu, incremental, peer, evaluator, workers: opts.workers, rounds });
    process.stdout.write(`${report}\n`);
    if (opts.write) writeSection(path.join(__dirname, '../../BENCHMARKS.md'), '## Batch layer', report);
  } finally {
    await db.dataSource.query(`DROP SCHEMA IF EXISTS "${db.schema}" CASCADE`).catch(() => undefined);
    await db.close();
    await rm(lakeDir, { recursive: true, force: true });
    await pg?.stop();
  }
}

interface FullRound {
  readonly full: { readonly summary: BatchRunSummary; readonly cpu: { readonly node: number; readonly pg: number | undefined } };
  readonly peer: Awaited<ReturnType<typeof runDuckDb>>;
}

/** Events folded into the views: the lake records below the cut (the scan also reads the records of straddling files beyond it, and skips them). */
const eventsOf = (s: BatchRunSummary) => Math.max(...s.views.map((v) => v.recordsIn));

/** The batch run's rate over DuckDB's in one round. */
const ratioOf = (r: FullRound) => eventsOf(r.full.summary) / (r.full.summary.durationMs / 1000) / (r.peer.rows / r.peer.seconds);

function describe(r: {
  total: number;
  base: number;
  increment: number;
  lakeSeconds: number;
  full: BatchRunSummary;
  fullCpu: { readonly node: number; readonly pg: number | undefined };
  incremental: BatchRunSummary;
  peer: Awaited<ReturnType<typeof runDuckDb>>;
  evaluator: EvaluatorCost;
  workers: number;
  rounds: readonly FullRound[];
}): string {
  const fullSeconds = r.full.durationMs / 1000;
  const scanSeconds = (r.full.timingsMs['scan'] ?? 0) / 1000;
  const writeSeconds = (r.full.timingsMs['write'] ?? 0) / 1000;
  const events = eventsOf(r.full);
  const ours = events / fullSeconds;
  const oursScan = events / scanSeconds;
  const duck = r.peer.rows / r.peer.seconds;
  const fraction = r.incremental.durationMs / r.full.durationMs;
  const rows = (s: BatchRunSummary, view: string) => s.views.find((v) => v.view === view)?.rows ?? 0;
  const cells = rows(r.full, 'flights_per_origin_hour') + rows(r.full, 'flights_per_route_day');
  const fmt = (n: number) => Math.round(n).toLocaleString('en');
  const pct = (n: number) => `${(n * 100).toFixed(1)}%`;
  const sec = (ms: number) => (ms / 1000).toFixed(1);
  const [l1, l5] = loadavg();

  // The evaluator's share, from its in-memory cost in this process times this run's events and cells.
  const folded = r.evaluator.views.reduce((s, v) => s + v.foldMicros, 0);
  const encodeMs = r.evaluator.views.reduce((s, v) => s + (v.encodeMicros * rows(r.full, v.view)) / 1000, 0);
  const evaluatorMs = (folded * events) / 1000 + encodeMs;
  const duckCpuMs = r.peer.cpuSeconds * 1000;
  const batchCpuMs = r.fullCpu.node + (r.fullCpu.pg ?? 0);
  const threads = r.full.workers === 0 ? 'this thread alone' : `${r.full.workers} threads: the calling one and ${r.full.workers - 1} worker${r.full.workers > 2 ? 's' : ''}`;
  const roundRows = r.rounds
    .map((round, i) => {
      const f = round.full;
      const node = sec(f.cpu.node);
      const pg = f.cpu.pg === undefined ? 'n/a' : sec(f.cpu.pg);
      return `| ${i + 1}${round === r.rounds.find((x) => x.full.summary === r.full) ? ' (median)' : ''} | ${i % 2 === 0 ? 'batch' : 'DuckDB'} | ${(f.summary.durationMs / 1000).toFixed(2)} s | ${round.peer.seconds.toFixed(2)} s | **${pct(ratioOf(round))}** | ${node} | ${pg} | ${round.peer.cpuSeconds.toFixed(1)} |`;
    })
    .join('\n');
  const ratios = r.rounds.map(ratioOf);
  const perView = r.evaluator.views.map((v) => `${v.view} ${v.foldMicros.toFixed(2)} µs per event and ${v.encodeMicros.toFixed(2)} µs per cell`).join('; ');

  return `Measured ${new Date().toISOString().slice(0, 10)} on ${describeMachine()}; load average at the end ${l1.toFixed(1)} (1 min), ${l5.toFixed(1)} (5 min) — the machine is shared, so absolute figures move between runs; the ratios are measured in the same run.
Command: \`node tools/run.js bench/batch/run.ts\` (BATCH_WORKERS ${r.workers}: the scan used ${threads}; ${r.peer.threads} DuckDB threads).

Lake: ${fmt(r.base)} of ${fmt(r.total)} flights-3m rows (99%), 4 partitions by origin, files of ${fmt(FILE_ROWS)} rows written through the archiver's writer (${r.lakeSeconds.toFixed(1)} s); chunk size ${fmt(CHUNK_SIZE)}. Views: flights_per_origin_hour (count, mean/min/max delay, p95 delay sketch, distinct destinations HLL) and flights_per_route_day (count, mean delay, total distance).

| run | events | time | events/s | cells written |
|---|---:|---:|---:|---:|
| batch, full recompute (scan + write + flip) | ${fmt(events)} | ${fullSeconds.toFixed(2)} s | ${fmt(ours)} | ${fmt(rows(r.full, 'flights_per_origin_hour'))} + ${fmt(rows(r.full, 'flights_per_route_day'))} |
| batch, full recompute, lake scan phase only | ${fmt(events)} | ${scanSeconds.toFixed(2)} s | ${fmt(oursScan)} | |
| DuckDB, same aggregations, same files and cut (CREATE TABLE AS) | ${fmt(r.peer.rows)} | ${r.peer.seconds.toFixed(2)} s | ${fmt(duck)} | ${fmt(r.peer.cells.originHour)} + ${fmt(r.peer.cells.routeDay)} |
| DuckDB, exact aggregates only (no quantile, no distinct) | ${fmt(r.peer.rows)} | ${r.peer.exactSeconds.toFixed(2)} s | ${fmt(r.peer.rows / r.peer.exactSeconds)} | |
| batch, incremental after +1% (${fmt(r.increment)} flights) | ${fmt(Math.max(0, ...r.incremental.views.map((v) => v.recordsIn)))} | ${(r.incremental.durationMs / 1000).toFixed(2)} s | | ${fmt(rows(r.incremental, 'flights_per_origin_hour'))} + ${fmt(rows(r.incremental, 'flights_per_route_day'))} |

Each round ran a full recompute and DuckDB's queries one after the other (who went first alternating); the figures above are the median round's by the ratio:

| round | first | batch full run | DuckDB | batch rate / DuckDB rate | batch Node CPU s | batch PostgreSQL CPU s | DuckDB CPU s |
|---|---|---:|---:|---:|---:|---:|---:|
${roundRows}

- Full recompute rate relative to DuckDB: **${pct(ours / duck)}** end to end in the median round (${pct(Math.min(...ratios))} to ${pct(Math.max(...ratios))} over the ${r.rounds.length} rounds), ${pct(oursScan / duck)} for the scan phase alone (target >= 50%); ${pct(ours / (r.peer.rows / r.peer.exactSeconds))} of DuckDB computing the exact aggregates only.
- Incremental run time as a fraction of the full run: **${pct(fraction)}** (target <= 5%).
- Full run phases (ms): ${Object.entries(r.full.timingsMs).map(([k, v]) => `${k} ${v}`).join(', ')}.
- Incremental run phases (ms): ${Object.entries(r.incremental.timingsMs).map(([k, v]) => `${k} ${v}`).join(', ')}; the new version is ${r.incremental.views.map((v) => `${v.view} ${v.layout ?? 'unchanged'}`).join(', ')} (a delta over the full version's table, see docs/batch.md).

CPU time (seconds of CPU, all threads; steadier than wall time on a shared machine):

| | CPU s | µs per event |
|---|---:|---:|
| batch full run, Node (scan threads, merge, COPY streaming) | ${sec(r.fullCpu.node)} | ${((r.fullCpu.node * 1000) / events).toFixed(2)} |
| batch full run, PostgreSQL (COPY checking the JSON states, indexes, statistics) | ${r.fullCpu.pg === undefined ? 'n/a' : sec(r.fullCpu.pg)} | ${r.fullCpu.pg === undefined ? 'n/a' : ((r.fullCpu.pg * 1000) / events).toFixed(2)} |
| of the Node time: the shared evaluator alone (folding and encoding, as measured in memory below) | ${sec(evaluatorMs)} | ${((evaluatorMs * 1000) / events).toFixed(2)} |
| DuckDB, same aggregations | ${sec(duckCpuMs)} | ${((duckCpuMs * 1000) / r.peer.rows).toFixed(2)} |

The shared evaluator's own cost, measured in this process on the first ${fmt(r.evaluator.events)} flights in memory (no lake, no I/O; \`ViewAccumulator\` over the counted view, then every state encoded as the tables store it): ${perView}. Over this run's ${fmt(events)} events and ${fmt(cells)} cells that is ${sec(evaluatorMs)} CPU-seconds, ${pct(evaluatorMs / duckCpuMs)} of what DuckDB spends on the whole aggregation${r.fullCpu.pg === undefined ? '' : `, and with PostgreSQL's ${sec(r.fullCpu.pg)} s for storing the states the run needs at least ${sec(evaluatorMs + r.fullCpu.pg)} CPU-seconds against DuckDB's ${sec(duckCpuMs)}`}. On two cores, 50% of DuckDB's rate allows the batch run about twice DuckDB's CPU time when both keep the cores busy; the batch run spent ${(batchCpuMs / duckCpuMs).toFixed(1)}x.

Where the full run's time goes: the scan phase (${pct(scanSeconds / fullSeconds)} of the run) reads the Parquet files column by column (only the offset and event columns), folds every record through the shared evaluator of libs/transforms with one reused event object per file, and writes each cell as the COPY line the table takes; this thread and a worker thread split the files, each starting on its own stretch of the log, so only cells of the buckets at the stretches' ends are merged. The write phase (${pct(writeSeconds / fullSeconds)}) streams those lines into PostgreSQL over several COPY connections per view (one per 32 MiB of lines, up to four), whose backends check the states' JSON (stored as \`json\`, as written), then builds the primary key, the bucket index and key/bucket statistics. DuckDB runs the grouping vectorised in C++; most of its time here is its own quantile and distinct sketches (compare its exact-only line). The incremental run reads only the files holding new offsets and writes only the changed cells as a delta.
`;
}

main().catch((error) => {
  process.stderr.write(`bench/batch: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
