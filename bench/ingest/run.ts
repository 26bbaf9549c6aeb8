// Ingest benchmark (not a test): events/s through the ingest API (REST with autocannon, gRPC
// Publish with a grpc-js load loop), next to a raw kafkajs producer sending the same events
// with the same guarantees (idempotent, acks=all) to the same broker in the same run.
// Writes the "Ingest" section of BENCHMARKS.md.
//
//   node tools/run.js bench/ingest/run.ts [--events-per-request N] [--seconds S] [--connections C] [--no-write]
//
// Uses KAFKA_BROKERS when set, or starts the test harness' Kafka broker.
import 'reflect-metadata';
import { fork } from 'node:child_process';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { Kafka, logLevel } from 'kafkajs';
import { type FlightEvent, flights } from '@tandem/contracts';
import { readFlights } from '@tandem/platform';
import { startKafkaBroker, uniqueName } from '@tandem/testkit';
import { machine, writeSection } from '../shared/benchmarks-file';
import { grpcLoad } from '../serving/grpc-load';
import { closedLoop, type LoadSummary, summarise } from '../serving/latency';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const PER_REQUEST = option('events-per-request', 100);
const SECONDS = option('seconds', 8);
const CONNECTIONS = option('connections', 8);

async function main(): Promise<void> {
  const started = new Date();
  const machineLine = machine();
  const broker = process.env['KAFKA_BROKERS'] ? undefined : await startKafkaBroker({ log: (l) => process.stderr.write(`${l}\n`) });
  const brokers = process.env['KAFKA_BROKERS']?.split(',') ?? broker!.brokers;
  const prefix = `${uniqueName('bench_ingest')}.`;
  const topic = `${prefix}${flights.topic}`;
  const child = fork(path.join(__dirname, 'server-process.ts'), [], {
    execArgv: ['-r', '@swc-node/register'],
    env: { ...process.env, SWC_NODE_PROJECT: path.join(__dirname, '../../tsconfig.base.json'), KAFKA_BROKERS: brokers.join(','), BENCH_TOPIC_PREFIX: prefix },
  });
  try {
    const ready = await new Promise<{ http: string; grpc: number }>((resolve, reject) => {
      child.once('message', (m: { http: string; grpc: number }) => resolve(m));
      child.once('exit', (code) => reject(new Error(`ingest process exited with ${code}`)));
    });
    const events: FlightEvent[] = [];
    for await (const batch of readFlights({ limit: 50 * PER_REQUEST })) events.push(...batch);
    const batches: FlightEvent[][] = [];
    for (let i = 0; i < events.length; i += PER_REQUEST) batches.push(events.slice(i, i + PER_REQUEST));
    const bodies = batches.map((b) => JSON.stringify(b));
    const texts = batches.map((b) => b.map((e) => JSON.stringify(e)));

    const results: { name: string; summary: LoadSummary }[] = [];
    const record = (name: string, summary: LoadSummary) => {
      results.push({ name, summary });
      process.stderr.write(`${name.padEnd(34)} ${(summary.rps * PER_REQUEST).toFixed(0)} events/s  p50 ${summary.p50.toFixed(2)} ms  p99 ${summary.p99.toFixed(2)} ms  (${summary.requests} ok, ${summary.errors} errors)\n`);
    };

    // Raw kafkajs: the same messages (JSON value, origin key), idempotent, acks=all, one in flight.
    const kafka = new Kafka({ clientId: 'bench-raw', brokers, logLevel: logLevel.ERROR });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    let n = 0;
    const raw = () => {
      const b = batches[n++ % batches.length];
      return producer.send({ topic, acks: -1, messages: b.map((e) => ({ key: e.origin, value: JSON.stringify(e) })) });
    };
    // A longer warm-up for the first run: the broker's JIT and page cache warm up too.
    await closedLoop(raw, CONNECTIONS, 5);
    record('raw kafkajs producer', await closedLoop(raw, CONNECTIONS, SECONDS));

    const rest = async (seconds: number) => {
      const samples: number[] = [];
      let failed = 0;
      let i = 0;
      const instance = autocannon({
        url: `${ready.http}/v1/streams/flights/events`,
        connections: CONNECTIONS,
        duration: seconds,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: bodies[0],
        ...({ requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, body: bodies[i++ % bodies.length] }) }] } as object),
      });
      instance.on('response', (_c, status, _b, ms) => (status === 200 ? samples.push(ms) : failed++));
      const result = await instance;
      return summarise(samples, failed + result.errors, result.duration);
    };
    await rest(2);
    record('ingest REST (autocannon)', await rest(SECONDS));

    const publish = { stream: 'flights', events: texts[0] };
    await grpcLoad(`127.0.0.1:${ready.grpc}`, 'ingest', 'Ingest', 'Publish', publish, CONNECTIONS, 2);
    record('ingest gRPC Publish (grpc-js loop)', await grpcLoad(`127.0.0.1:${ready.grpc}`, 'ingest', 'Ingest', 'Publish', publish, CONNECTIONS, SECONDS));
    // The raw producer once more: on a shared machine, a drift between the first and the last run shows here.
    record('raw kafkajs producer (again, last)', await closedLoop(raw, CONNECTIONS, SECONDS));
    await producer.disconnect();

    const rawRate = ((results[0].summary.rps + results[results.length - 1].summary.rps) / 2) * PER_REQUEST;
    const body = [
      `Command: \`node tools/run.js bench/ingest/run.ts --events-per-request ${PER_REQUEST} --seconds ${SECONDS} --connections ${CONNECTIONS}\` (${started.toISOString().slice(0, 10)}).`,
      `Machine: ${machineLine}. Kafka ${broker ? 'single-node KRaft broker from the testkit' : 'from KAFKA_BROKERS'} on the same machine (4-partition topic); the ingest process and the load generator are separate processes.`,
      '',
      `Events: flights-3m rows, ${PER_REQUEST} per request (one JSON array per REST body, one JSON string per event over gRPC), ${CONNECTIONS} concurrent requests on ${CONNECTIONS} connections, ${SECONDS} s each after a warm-up. Every request validates each event against the contract and returns after Kafka acknowledged all of them (idempotent producer, acks=all). The raw producer sends the same messages (JSON value, origin key) with the same settings (idempotent, acks=all, one request in flight) from ${CONNECTIONS} concurrent loops.`,
      '',
      'The ratio is against the mean of the two raw producer runs (first and last). What ingest adds to the raw producer: a second process and an HTTP or gRPC hop, parsing the request, checking every event against its contract and re-encoding it, on a machine whose two cores the broker, the ingest process and the load generator share.',
      '',
      '| path | events/s | vs raw producer | p50 ms per request | p99 ms per request |',
      '|---|---:|---:|---:|---:|',
      ...results.map((r) => `| ${r.name} | ${Math.round(r.summary.rps * PER_REQUEST)} | ${((r.summary.rps * PER_REQUEST) / rawRate).toFixed(2)}x | ${r.summary.p50.toFixed(2)} | ${r.summary.p99.toFixed(2)} |`),
    ].join('\n');
    process.stdout.write(`\n${body}\n`);
    if (!args.includes('--no-write')) writeSection(path.join(__dirname, '../../BENCHMARKS.md'), '## Ingest', body);
  } finally {
    child.send({ type: 'stop' });
    await new Promise((r) => child.once('exit', r));
    await broker?.stop();
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
