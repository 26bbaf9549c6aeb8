// Nest on Express vs Nest on Fastify (not a test): the same controller returning a
// serving-sized answer, each in its own process, loaded with autocannon in the same run, twice
// in alternation. This is the measurement behind running the serving REST API on Fastify.
//
//   node tools/run.js bench/serving/adapters.ts [--seconds S] [--connections C]
import { fork } from 'node:child_process';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { type LoadSummary, summarise } from './latency';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};

export async function compareAdapters(seconds = option('seconds', 5), connections = option('connections', 8)): Promise<Record<'express' | 'fastify', LoadSummary[]>> {
  const out: Record<'express' | 'fastify', LoadSummary[]> = { express: [], fastify: [] };
  for (let round = 0; round < 2; round++) {
    for (const kind of ['express', 'fastify'] as const) {
      const child = fork(path.join(__dirname, 'adapter-app.ts'), [kind], {
        execArgv: ['-r', '@swc-node/register'],
        env: { ...process.env, SWC_NODE_PROJECT: path.join(__dirname, '../../tsconfig.base.json') },
      });
      try {
        const { port } = await new Promise<{ port: number }>((resolve) => child.once('message', resolve as never));
        const url = `http://127.0.0.1:${port}/v1/views/flights_per_origin_hour/value?key=ORD&from=1&to=2`;
        await autocannon({ url, connections, duration: 2 });
        const samples: number[] = [];
        const instance = autocannon({ url, connections, duration: seconds });
        instance.on('response', (_c, status, _b, ms) => status === 200 && samples.push(ms));
        const result = await instance;
        out[kind].push(summarise(samples, result.non2xx + result.errors, result.duration));
      } finally {
        child.kill();
        await new Promise((r) => child.once('exit', r));
      }
    }
  }
  return out;
}

if (process.argv[1] === __filename) {
  void compareAdapters().then((r) => {
    for (const [kind, runs] of Object.entries(r)) for (const s of runs) process.stdout.write(`${kind.padEnd(8)} ${s.rps.toFixed(0)} req/s  p50 ${s.p50.toFixed(3)} ms  p99 ${s.p99.toFixed(3)} ms\n`);
  });
}
