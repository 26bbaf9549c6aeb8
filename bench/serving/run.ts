// Serving benchmark (not a test). Seeds flights_per_origin_hour from flights-3m (batch version
// plus realtime rows past its cut), starts a serving process, and measures in the same run:
//   - the direct SQL peer: the same statements, same snapshot, same pool, no decode/merge/transport;
//   - REST (autocannon) and gRPC (grpc-js' own client, its callers sharing one channel) for a
//     point query and a top-N query, with the caches off and on; at full concurrency also gRPC
//     from grpc-js with a channel per caller and from a lean HTTP/2 load loop, for comparison.
// Writes the "Serving layer" section of BENCHMARKS.md.
//
//   node tools/run.js bench/serving/run.ts [--rows N] [--seconds S] [--connections C] [--rounds R] [--no-write]
//
// Uses DATABASE_URL when set, or starts the test harness' embedded PostgreSQL.
import 'reflect-metadata';
import { fork, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { openDatabase } from '@tandem/platform';
import { startPostgres, uniqueName } from '@tandem/testkit';
import { flightsPerOriginHour } from '@tandem/transforms';
import { machine, writeSection } from '../shared/benchmarks-file';
import { compareAdapters } from './adapters';
import { type GrpcChannels, grpcLoad, grpcWireLoad } from './grpc-load';
import { type LoadSummary, summarise } from './latency';
import { isolateLoadGenerator } from './pin';
import { seedServing } from './seed';
import type { DirectRequest } from './server-process';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const ROWS = option('rows', 300_000);
const SECONDS = option('seconds', 5);
const CONNECTIONS = option('connections', 8);
/** Rounds each path's time is split into, interleaved with the other paths'. */
const ROUNDS = option('rounds', 4);
const CHUNK = 10_000;
const DAY = 86_400_000;
const view = flightsPerOriginHour;

interface Endpoints {
  readonly http: string;
  readonly grpc: number;
}

async function main(): Promise<void> {
  const started = new Date();
  const machineLine = machine();
  const pg = process.env['DATABASE_URL'] ? undefined : await startPostgres();
  const url = process.env['DATABASE_URL'] ?? pg!.url;
  const schema = uniqueName('bench_serving');
  let child: ChildProcess | undefined;
  try {
    const db = await openDatabase({ url, schema, poolSize: 4 });
    process.stderr.write(`seeding ${ROWS} flights into ${schema}...\n`);
    const seeded = await seedServing(db, [view], ROWS, CHUNK, 'tandem-speed');
    await db.close();
    process.stderr.write(`seeded: ${JSON.stringify(seeded)}\n`);

    child = fork(path.join(__dirname, 'server-process.ts'), [], {
      execArgv: ['-r', '@swc-node/register'],
      env: { ...process.env, SWC_NODE_PROJECT: path.join(__dirname, '../../tsconfig.base.json'), DATABASE_URL: url, BENCH_SCHEMA: schema, BENCH_CHUNK_SIZE: String(CHUNK) },
    });
    const ready = await message<{ uncached: Endpoints; cached: Endpoints }>(child, 'ready');

    const key = 'ORD';
    const point = { from: seeded.lastDay - 6 * DAY, to: seeded.lastDay + DAY };
    const top = { from: seeded.lastDay - DAY, to: seeded.lastDay + DAY };
    const restPoint = `/v1/views/${view.name}/value?key=${key}&from=${point.from}&to=${point.to}`;
    const restTop = `/v1/views/${view.name}/top?aggregate=flights&from=${top.from}&to=${top.to}&n=10`;
    const grpcPoint = { view: view.name, key: { origin: key }, from_ms: String(point.from), to_ms: String(point.to) };
    const grpcTop = { view: view.name, aggregate: 'flights', from_ms: String(top.from), to_ms: String(top.to), n: 10 };

    // What each answer is made of, for the record.
    const probe = async (p: string) => (await (await fetch(`${ready.uncached.http}${p}`)).json()) as { provenance: { rows: { batch: number; speed: number } } };
    const pointRows = (await probe(restPoint)).provenance.rows;
    const topRows = (await probe(restTop)).provenance.rows;

    interface Measured {
      readonly name: string;
      /** What sent the requests (the table's "load generator" column). */
      readonly generator: string;
      readonly shape: string;
      readonly concurrency: number;
      readonly summary: LoadSummary;
      /** CPU of the serving process (PostgreSQL not included) and of the load generator, per request. */
      readonly serverUs: number;
      readonly clientUs: number;
    }
    const results: Measured[] = [];
    const serverCpu = async () => {
      child!.send({ type: 'cpu' });
      return (await message<{ micros: number }>(child!, 'cpu')).micros;
    };
    const ownCpu = () => {
      const used = process.cpuUsage();
      return used.user + used.system;
    };
    interface Path {
      readonly name: string;
      readonly generator: string;
      readonly run: (seconds: number) => Promise<LoadSummary>;
    }
    /**
     * Runs every path of one query and concurrency in ROUNDS interleaved rounds of SECONDS / ROUNDS
     * each and pools each path's samples, so that what else runs on the shared machine falls on
     * all paths alike rather than on whichever ran during a busy minute.
     */
    const measure = async (shape: string, concurrency: number, paths: readonly Path[]) => {
      for (const path of paths) await path.run(2); // warm-up: plans, buffers, JIT, connections
      const runs = paths.map(() => ({ samples: [] as number[], errors: 0, seconds: 0, serverUs: 0, clientUs: 0 }));
      for (let round = 0; round < ROUNDS; round++) {
        for (let i = 0; i < paths.length; i++) {
          const at = (i + round) % paths.length;
          const [server0, own0] = [await serverCpu(), ownCpu()];
          const part = await paths[at].run(SECONDS / ROUNDS);
          const [server1, own1] = [await serverCpu(), ownCpu()];
          const run = runs[at];
          run.samples.push(...part.samples);
          run.errors += part.errors;
          run.seconds += part.seconds;
          run.serverUs += server1 - server0;
          run.clientUs += own1 - own0;
        }
      }
      paths.forEach((path, i) => {
        const run = runs[i];
        record(path, shape, concurrency, summarise(run.samples, run.errors, run.seconds), run.serverUs, run.clientUs);
      });
    };
    const record = ({ name, generator }: Path, shape: string, concurrency: number, summary: LoadSummary, serverMicros: number, clientMicros: number) => {
      const per = (micros: number) => micros / Math.max(1, summary.requests);
      const m: Measured = { name, generator, shape, concurrency, summary, serverUs: per(serverMicros), clientUs: per(clientMicros) };
      results.push(m);
      process.stderr.write(
        `${shape.padEnd(6)} c=${String(concurrency).padEnd(2)} ${name.padEnd(36)} p50 ${summary.p50.toFixed(3)} ms  p99 ${summary.p99.toFixed(3)} ms  ${summary.rps.toFixed(0)} req/s  ` +
          `server ${m.serverUs.toFixed(0)} us/req  load generator ${m.clientUs.toFixed(0)} us/req  (${summary.requests} ok, ${summary.errors} errors)\n`,
      );
    };
    const queries = [
      ['point', restPoint, 'Value', grpcPoint],
      ['top-N', restTop, 'TopN', grpcTop],
    ] as const;
    type Query = (typeof queries)[number];
    type Cache = 'uncached' | 'cached';
    const cacheLabel = (cache: Cache) => `cache ${cache === 'cached' ? 'on' : 'off'}`;
    const restPathOf = ([, restPath]: Query, cache: Cache, concurrency: number, name = `REST, ${cacheLabel(cache)}`): Path => ({
      name,
      generator: `autocannon, ${plural(concurrency, 'connection')}`,
      run: (seconds) => rest(`${ready[cache].http}${restPath}`, concurrency, seconds),
    });
    const grpcJsPathOf = ([, , method, request]: Query, cache: Cache, concurrency: number, channels: GrpcChannels, name: string): Path => ({
      name,
      generator: channels === 'shared' ? 'grpc-js, 1 channel' : `grpc-js, ${plural(concurrency, 'channel')}`,
      run: (seconds) => grpcLoad(`127.0.0.1:${ready[cache].grpc}`, 'query', 'Query', method, request, concurrency, seconds, channels),
    });
    for (const query of queries) {
      const [shape, , grpcMethod, grpcRequest] = query;
      // Concurrency 1 shows what a request costs; concurrency C shows throughput (and queueing).
      for (const concurrency of [1, CONNECTIONS]) {
        const direct = async (seconds: number) => {
          child!.send({ type: 'direct', shape: shape === 'point' ? 'point' : 'top', view: view.name, key, aggregate: 'flights', ...(shape === 'point' ? point : top), seconds, concurrency } satisfies DirectRequest);
          return (await message<{ summary: LoadSummary }>(child!, 'direct-result')).summary;
        };
        const paths: Path[] = [{ name: 'direct SQL (same pool)', generator: 'in the serving process', run: direct }];
        for (const cache of ['uncached', 'cached'] as const) {
          paths.push(restPathOf(query, cache, concurrency), grpcJsPathOf(query, cache, concurrency, 'shared', `gRPC, ${cacheLabel(cache)}`));
        }
        if (concurrency === CONNECTIONS) {
          // The same calls over one connection per caller, as autocannon has to: from grpc-js, and
          // from the lean HTTP/2 loop, which leaves grpc-js' per-call machinery out.
          paths.push(grpcJsPathOf(query, 'cached', concurrency, 'per-caller', 'gRPC, cache on, a channel per caller'));
          paths.push({
            name: 'gRPC, cache on, HTTP/2 loop',
            generator: `HTTP/2 frames, ${plural(concurrency, 'connection')}`,
            run: (seconds) => grpcWireLoad(`127.0.0.1:${ready.cached.grpc}`, 'query', 'Query', grpcMethod, grpcRequest, concurrency, seconds),
          });
        }
        await measure(shape, concurrency, paths);
      }
    }

    // The same throughput paths with the load generator off the server's core (see pin.ts).
    const ISOLATED = 'load generator on its own core';
    const isolated = await isolateLoadGenerator(url, child.pid!);
    if (typeof isolated === 'function') {
      try {
        for (const query of queries) {
          await measure(query[0], CONNECTIONS, [
            restPathOf(query, 'cached', CONNECTIONS, `REST, cache on, ${ISOLATED}`),
            grpcJsPathOf(query, 'cached', CONNECTIONS, 'shared', `gRPC, cache on, ${ISOLATED}`),
          ]);
        }
      } finally {
        isolated();
      }
    } else {
      process.stderr.write(`load generator not isolated: ${isolated}\n`);
    }

    process.stderr.write('Nest on Express vs Nest on Fastify...\n');
    const adapters = await compareAdapters(SECONDS, CONNECTIONS);
    const adapterRows = (['express', 'fastify'] as const).flatMap((kind) =>
      adapters[kind].map((s, i) => `| Nest on ${kind === 'express' ? 'Express' : 'Fastify'} (round ${i + 1}) | ${s.p50.toFixed(2)} | ${s.p99.toFixed(2)} | ${Math.round(s.rps)} |`),
    );
    const mean = (kind: 'express' | 'fastify') => adapters[kind].reduce((n, s) => n + s.rps, 0) / adapters[kind].length;

    const row = (r: Measured) =>
      `| ${r.shape} | ${r.concurrency} | ${r.name} | ${r.generator} | ${r.summary.p50.toFixed(2)} | ${r.summary.p99.toFixed(2)} | ${Math.round(r.summary.rps)} | ${Math.round(r.serverUs)} | ${r.name.startsWith('direct') ? '' : Math.round(r.clientUs)} |`;
    const measured = (shape: string, concurrency: number, name: string) => results.find((r) => r.shape === shape && r.concurrency === concurrency && r.name === name)!;
    const find = (shape: string, concurrency: number, name: string) => measured(shape, concurrency, name).summary;
    const verdict = (shape: string) => {
      const direct = find(shape, 1, 'direct SQL (same pool)').p50;
      const signed = (ms: number) => `${ms < 0 ? '-' : '+'}${Math.abs(ms).toFixed(2)} ms`;
      const adds = (name: string) => signed(find(shape, 1, name).p50 - direct);
      const ratio = (grpc: string, cache: string) => (find(shape, CONNECTIONS, grpc).rps / find(shape, CONNECTIONS, `REST, cache ${cache}`).rps).toFixed(2);
      const directCpu = measured(shape, 1, 'direct SQL (same pool)').serverUs;
      const cpu = (name: string) => signed((measured(shape, 1, name).serverUs - directCpu) / 1000);
      return (
        `${shape}: p50 over direct SQL at concurrency 1 (target <= 1 ms): REST ${adds('REST, cache off')} / gRPC ${adds('gRPC, cache off')} with the caches off, ` +
        `REST ${adds('REST, cache on')} / gRPC ${adds('gRPC, cache on')} with them on; serving-process CPU per request over direct SQL (steadier than wall time on a shared machine): ` +
        `REST ${cpu('REST, cache off')} / gRPC ${cpu('gRPC, cache off')} caches off, REST ${cpu('REST, cache on')} / gRPC ${cpu('gRPC, cache on')} caches on; ` +
        `gRPC (grpc-js client, 1 channel) / REST (autocannon) throughput at concurrency ${CONNECTIONS} (target >= 0.8x): ${ratio('gRPC, cache off', 'off')}x caches off, ${ratio('gRPC, cache on', 'on')}x caches on; ` +
        `caches on, with a grpc-js channel per caller ${ratio('gRPC, cache on, a channel per caller', 'on')}x, from the HTTP/2 loop ${ratio('gRPC, cache on, HTTP/2 loop', 'on')}x` +
        (typeof isolated === 'function'
          ? `; caches on, ${ISOLATED} (the serving process and PostgreSQL pinned to core 0): ${(find(shape, CONNECTIONS, `gRPC, cache on, ${ISOLATED}`).rps / find(shape, CONNECTIONS, `REST, cache on, ${ISOLATED}`).rps).toFixed(2)}x`
          : `; the load generator could not be given its own core here (${isolated})`)
      );
    };
    const body = [
      `Command: \`node tools/run.js bench/serving/run.ts --rows ${ROWS} --seconds ${SECONDS} --connections ${CONNECTIONS}\` (${started.toISOString().slice(0, 10)}).`,
      `Machine: ${machineLine}, ${os.loadavg()[0].toFixed(2)} at the end. PostgreSQL ${pg ? 'embedded (testkit)' : 'from DATABASE_URL'} on the same machine; the serving process and the load generator are separate processes.`,
      '',
      `Data: the first ${seeded.events.toLocaleString('en-US')} flights of flights-3m on a 4-partition log; \`${view.name}\` batch version with ${seeded.batchRows.toLocaleString('en-US')} rows covering ~80% of each partition (cut ${JSON.stringify(seeded.cut)}, chunk ${CHUNK}), ${seeded.realtimeRows.toLocaleString('en-US')} realtime rows past the cut.`,
      `Point query: \`value\` of ${key} over 7 days (${pointRows.batch} batch + ${pointRows.speed} realtime rows merged). Top-N: top 10 origins by flights over 2 days (${topRows.batch} batch + ${topRows.speed} realtime rows).`,
      `Load: concurrency 1 (what one request costs) and ${CONNECTIONS} (throughput), closed loops (each caller waits for its answer before sending again). REST: autocannon with that many connections, counting a 200 with its body read. gRPC: grpc-js' own client (\`Client.makeUnaryRequest\`) with that many callers sharing one channel, so their calls are streams of one HTTP/2 connection, as the clients of one target share a connection in grpc-js by default; the request is serialised once and answers are taken as bytes (autocannon does not parse the JSON either), a call counts when grpc-js reports status OK with exactly one response message, and retries and channelz are off (\`bench/serving/grpc-load.ts\`). At concurrency ${CONNECTIONS} with the caches on the same calls also run over a connection per caller, as autocannon needs for HTTP/1.1: from grpc-js with a channel each, and from a lean HTTP/2 loop that sends one pre-built call (HEADERS and one length-prefixed DATA frame) per caller and checks HTTP 200, \`grpc-status: 0\` and one whole response message, without grpc-js' per-call machinery. ` +
        `That many concurrent loops for direct SQL. Each path runs ${SECONDS} s after a 2 s warm-up, in ${ROUNDS} rounds of ${SECONDS / ROUNDS} s interleaved with the other paths of the same query and concurrency (the machine is shared: whatever else runs then falls on every path alike), and its samples are pooled. The direct SQL peer runs in the serving process through the serving pool: the same statements (BEGIN REPEATABLE READ READ ONLY, pointer and offsets, realtime rows past the cut, batch rows, COMMIT) without decoding, merging, presenting or any transport. CPU per request is the serving process's (PostgreSQL's own is not counted) and the load generator's, which shares the machine's two cores with the server and PostgreSQL, except in the rows marked "${ISOLATED}": there the serving process and PostgreSQL are pinned to core 0 and the load generator to the other core (taskset, \`bench/serving/pin.ts\`), as a load generator on another machine would leave the server its cores; the server then has one core, not two, so those rows compare REST with gRPC, not with the rows above. "Cache on" answers the batch part from the per-version cache (so it skips the batch statement) and the realtime rows of closed chunks (ones the speed layer has wholly passed, which never change again) from a cache of their fold per query, so its realtime statement reads only the rows of the chunks still open; "cache off" disables the caches and runs the same statements as the direct SQL peer. Batch version tables are indexed by bucket as well as by key, as the batch layer seals them.`,
      '',
      '| query | concurrency | path | load generator | p50 ms | p99 ms | req/s | serving process CPU µs/req | load generator CPU µs/req |',
      '|---|---:|---|---|---:|---:|---:|---:|---:|',
      ...results.map(row),
      '',
      ...['point', 'top-N'].map((s) => `- ${verdict(s)}`),
      '',
      `HTTP adapter: the same Nest controller returning a serving-sized answer (~1 KB JSON, one event-loop turn of "work"), each adapter in its own process, autocannon with ${CONNECTIONS} connections for ${SECONDS} s, two rounds in alternation (\`bench/serving/adapters.ts\`). The serving REST API runs on Fastify because of this (${(mean('fastify') / mean('express')).toFixed(1)}x the requests per second here).`,
      '',
      '| adapter | p50 ms | p99 ms | req/s |',
      '|---|---:|---:|---:|',
      ...adapterRows,
    ].join('\n');
    process.stdout.write(`\n${body}\n`);
    if (!args.includes('--no-write')) writeSection(path.join(__dirname, '../../BENCHMARKS.md'), '## Serving layer', body);
  } finally {
    if (child) {
      child.send({ type: 'stop' });
      await new Promise((r) => child!.once('exit', r));
    }
    await pg?.stop();
  }
}

function message<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string } & T) => {
      if (m.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m);
    };
    const onExit = (code: number) => reject(new Error(`serving process exited with ${code}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function rest(url: string, connections: number, seconds: number): Promise<LoadSummary> {
  const samples: number[] = [];
  let failed = 0;
  const instance = autocannon({ url, connections, duration: seconds });
  instance.on('response', (_client, status, _bytes, ms) => (status === 200 ? samples.push(ms) : failed++));
  const result = await instance;
  return summarise(samples, failed + result.errors, result.duration);
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
