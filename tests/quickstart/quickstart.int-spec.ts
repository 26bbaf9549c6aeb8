/**
 * The quickstart as a user runs it: `npm start` in a child process, on its own embedded
 * PostgreSQL and in-process log. Its REST and gRPC answers must equal the reference evaluator
 * over the flights replayed so far; Ctrl-C stops it cleanly and a second start resumes
 * without losing or double counting an event.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { type FlightEvent, PROTO_LOADER_OPTIONS, protoPath } from '@tandem/contracts';
import { freePorts, readFlights } from '@tandem/platform';
import { bucketOf, canonicalJson, evaluateView, flightsPerOriginHour, flightsPerRouteDay, type Json } from '@tandem/transforms';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startQuickstartProcess } from './quickstart-process';

jest.setTimeout(300_000);

const dataDir = mkdtempSync(join(tmpdir(), 'tandem-quickstart-'));
// As a directory a user creates (mkdtemp makes it private): PostgreSQL runs as its own user.
chmodSync(dataDir, 0o755);
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function flightsUpTo(n: number): Promise<FlightEvent[]> {
  const out: FlightEvent[] = [];
  for await (const batch of readFlights({ limit: n })) out.push(...batch);
  return out;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers, checked field by field below
const getJson = async (url: string): Promise<any> => {
  const res = await fetch(url);
  const body = await res.json();
  if (!res.ok) throw new Error(`${url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
};

/** Waits until the speed layer has consumed `events` flights (its offsets, from provenance). */
async function waitForSpeed(base: string, events: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = -1;
  while (Date.now() < deadline) {
    const top = await getJson(`${base}/v1/views/flights_per_origin_hour/top?aggregate=flights&from=0&to=${Date.UTC(2001, 6, 2)}&n=1`).catch(() => null);
    seen = top ? top.provenance.speed.offsets.reduce((n: number, o: { offset: number }) => n + o.offset, 0) : -1;
    if (seen === events) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the speed layer consumed ${seen} of ${events} flights in time`);
}

function grpcValue(port: number, request: object): Promise<{ values: Record<string, { number?: number; json?: string }> }> {
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(protoPath('query'), PROTO_LOADER_OPTIONS)) as never as {
    tandem: { v1: { Query: new (address: string, creds: grpc.ChannelCredentials) => grpc.Client & { Value: (r: object, cb: (e: Error | null, v: never) => void) => void } } };
  };
  const client = new pkg.tandem.v1.Query(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) =>
    client.Value(request, (error, value) => {
      client.close();
      if (error) reject(error);
      else resolve(value);
    }),
  );
}

/** Every origin's served hourly series equals the evaluator's cells, value for value. */
async function expectServedEqualsEvaluator(base: string, events: readonly FlightEvent[]): Promise<number> {
  const view = flightsPerOriginHour;
  const cells = evaluateView(view, events);
  const byOrigin = new Map<string, Map<number, unknown>>();
  for (const c of cells.values()) {
    const m = byOrigin.get(c.key) ?? new Map<number, unknown>();
    m.set(c.bucket, view.aggregator.present(c.state));
    byOrigin.set(c.key, m);
  }
  const to = bucketOf(events[events.length - 1].ts, 'hour') + 3_600_000;
  let compared = 0;
  for (const [origin, expected] of byOrigin) {
    const series = await getJson(`${base}/v1/views/${view.name}/series?key=${origin}&from=${Date.UTC(2001, 0, 1)}&to=${to}`);
    const served = new Map<number, unknown>(series.points.map((p: { bucketStart: number; values: unknown }) => [p.bucketStart, p.values]));
    expect({ origin, buckets: [...served.keys()].sort() }).toEqual({ origin, buckets: [...expected.keys()].sort() });
    for (const [bucket, value] of expected) {
      expect({ origin, bucket, value: canonicalJson(served.get(bucket) as Json) }).toEqual({ origin, bucket, value: canonicalJson(value as Json) });
      compared++;
    }
  }
  return compared;
}

/** Ctrl-C; the quickstart must say it stopped cleanly (its output is shown when it did not). */
async function expectCleanStop(qs: ReturnType<typeof startQuickstartProcess>): Promise<void> {
  const code = await qs.interrupt();
  expect({ code, output: code === 0 ? '' : qs.output().slice(-6_000) }).toEqual({ code: 0, output: '' });
}

let running: ReturnType<typeof startQuickstartProcess> | undefined;
afterEach(async () => {
  // A failed expectation must not leave the quickstart (and its PostgreSQL) running.
  if (running && running.child.exitCode === null) await running.interrupt(10_000).catch(() => undefined);
});

describe('npm start (the quickstart)', () => {
  it('serves exact answers over REST and gRPC, stops on Ctrl-C and resumes without loss or double count', async () => {
    const [port, grpcPort] = await freePorts(2);
    const args = ['--data-dir', dataDir, '--port', String(port), '--grpc-port', String(grpcPort), '--rate', '100000000', '--batch-interval', '2', '--chunk-size', '1000'];
    const base = `http://127.0.0.1:${port}`;

    // First run: 12,000 flights.
    let qs = (running = startQuickstartProcess([...args, '--limit', '12000']));
    await qs.waitFor(/Ready\. Press Ctrl-C to stop\./, 120_000);
    expect(qs.output()).toContain(`Dashboard   ${base}/dashboard`);
    expect(qs.output()).toContain(`Swagger UI  ${base}/docs`);
    await waitForSpeed(base, 12_000, 120_000);
    let events = await flightsUpTo(12_000);
    expect(await expectServedEqualsEvaluator(base, events)).toBeGreaterThan(1_000);

    // The same answer over gRPC as over REST, for a route (two dimensions) over a day.
    const day = { from: Date.UTC(2001, 0, 1), to: Date.UTC(2001, 0, 2) };
    const rest = await getJson(`${base}/v1/views/${flightsPerRouteDay.name}/value?key=${encodeURIComponent('["ORD","LGA"]')}&from=${day.from}&to=${day.to}`);
    const viaGrpc = await grpcValue(grpcPort, { view: flightsPerRouteDay.name, key: { origin: 'ORD', destination: 'LGA' }, from_ms: String(day.from), to_ms: String(day.to) });
    expect(Number(viaGrpc.values['flights'].number)).toBe(rest.values.flights);
    expect(Number(viaGrpc.values['distance'].number)).toBe(rest.values.distance);
    const expectedRoute = events.filter((e) => e.origin === 'ORD' && e.destination === 'LGA' && e.ts < day.to).length;
    expect(rest.values.flights).toBe(expectedRoute);

    await expectCleanStop(qs);
    expect(qs.output()).toContain('Stopped. Run `npm start` again to resume from the data directory.');

    // Second run on the same data directory: resume to 20,000 flights.
    qs = running = startQuickstartProcess([...args, '--limit', '20000']);
    await qs.waitFor(/Ready\. Press Ctrl-C to stop\./, 120_000);
    await waitForSpeed(base, 20_000, 120_000);
    events = await flightsUpTo(20_000);
    // Let a batch run absorb part of it, so answers merge both layers.
    await new Promise((r) => setTimeout(r, 5_000));
    expect(await expectServedEqualsEvaluator(base, events)).toBeGreaterThan(1_500);
    const status = await getJson(`${base}/dashboard/api/status`);
    expect(status.runs.some((r: { status: string }) => r.status === 'completed')).toBe(true);
    expect(status.runs.every((r: { drift: number }) => r.drift === 0)).toBe(true);
    await expectCleanStop(qs);
  });
});
