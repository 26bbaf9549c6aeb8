import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { openDatabase, type Database } from '@tandem/platform';
import { testEnv, withSchema, type TestSchema } from '@tandem/testkit';
import { flightsPerOriginHour as view, flightsPerRouteDay } from '@tandem/transforms';
import * as path from 'node:path';
import { FileDescriptorProto } from 'protobufjs/ext/descriptor';
import { QueryService } from './query-service';
import { startServingEdge, type ServingEdge } from './serving-app';
import { batchRowsOf, LayerSeeder, realtimeRowsOf } from './testing/layer-seeder';
import { comparableProvenance, provenanceFromProto, queryClient, type QueryClient, valuesFromProto } from './testing/query-grpc-client';
import { sampleFlights } from './testing/sample-flights';

// Real servers on a shared machine: hooks and tests get more than Jest's default 5 s.
jest.setTimeout(60_000);

const CHUNK = 100;
const DAY = Date.UTC(2001, 0, 1);
const NEXT_DAY = DAY + 86_400_000;
const READ_KEY = 'read-key-1';

describe('serving edge: REST and gRPC over one QueryService', () => {
  let schema: TestSchema;
  let db: Database;
  let edge: ServingEdge;
  let grpcClient: QueryClient;
  const events = sampleFlights({ events: 2_000, partitions: 2, seed: 11 });
  const cut = { '0': 500, '1': 300 };

  const rest = async (pathAndQuery: string, key: string | null = READ_KEY) => {
    const res = await fetch(`${edge.httpUrl}${pathAndQuery}`, { headers: key === null ? {} : { 'x-api-key': key } });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON (metrics, docs)
    }
    return { status: res.status, headers: res.headers, body: body as Record<string, unknown> & { provenance: never } };
  };
  const rpc = <T = Record<string, unknown>>(method: 'ListViews' | 'TimeSeries' | 'TopN' | 'Value', request: object, key: string | null = READ_KEY) =>
    grpcClient.call<T>(method, request, key === null ? {} : { 'x-api-key': key });

  beforeAll(async () => {
    const env = testEnv();
    schema = await withSchema(env.databaseUrl, 'serving_edge');
    db = await openDatabase({ url: env.databaseUrl, schema: schema.schema, poolSize: 4 });
    const seeder = new LayerSeeder(db.pool);
    for (const v of [view, flightsPerRouteDay]) {
      await seeder.batchVersion(v, { version: 3, cut, rows: batchRowsOf(v, events, cut) });
      await seeder.realtimeRows(v, realtimeRowsOf(v, events, CHUNK));
    }
    await seeder.speedOffsets('tandem-speed', view.stream.topic, [0, 1].map((p) => ({ partition: p, nextOffset: 5_000, lastLogTime: NEXT_DAY })));
    const queries = new QueryService({ pool: db.pool, chunkSize: CHUNK, now: () => NEXT_DAY + 1_234 });
    edge = await startServingEdge({ queries, http: { port: 0, host: '127.0.0.1' }, grpc: { port: 0, host: '127.0.0.1' }, apiKeys: [READ_KEY, 'read-key-2'], rateLimit: { limit: 0, windowMs: 1_000 }, logger: false });
    grpcClient = queryClient(`127.0.0.1:${edge.grpcPort}`);
  });

  afterAll(async () => {
    grpcClient?.close();
    await edge?.close();
    await db?.close();
    await schema?.drop();
  });

  it('gives the same value over REST and gRPC', async () => {
    const r = await rest(`/v1/views/${view.name}/value?key=ORD&from=2001-01-01T00:00:00Z&to=${NEXT_DAY}`);
    expect(r.status).toBe(200);
    const g = await rpc<{ values: never; provenance: never }>('Value', { view: view.name, key: { origin: 'ORD' }, from_ms: String(DAY), to_ms: String(NEXT_DAY) });
    expect(valuesFromProto(g.values)).toEqual(r.body['values']);
    expect(provenanceFromProto(g.provenance)).toEqual(comparableProvenance(r.body.provenance));
    expect(r.body['values']).toMatchObject({ flights: events.filter((e) => e.event.origin === 'ORD').length });
    expect(r.body.provenance).toMatchObject({ batch: { version: 3 }, speed: { freshnessMs: 1_234 } });
  });

  it('gives the same rolled-up series over REST and gRPC', async () => {
    const r = await rest(`/v1/views/${view.name}/series?key=ATL&from=${DAY}&to=${NEXT_DAY}&granularity=day&aggregates=flights,delay_mean,delay_p95`);
    expect(r.status).toBe(200);
    const g = await rpc<{ granularity: string; points: { bucket_start_ms: string; values: never }[]; provenance: never }>('TimeSeries', {
      view: view.name,
      key: { origin: 'ATL' },
      from_ms: String(DAY),
      to_ms: String(NEXT_DAY),
      granularity: 'GRANULARITY_DAY',
      aggregates: ['flights', 'delay_mean', 'delay_p95'],
    });
    expect(g.granularity).toBe('GRANULARITY_DAY');
    expect(g.points.map((p) => ({ bucketStart: Number(p.bucket_start_ms), values: valuesFromProto(p.values) }))).toEqual(r.body['points']);
    expect(provenanceFromProto(g.provenance)).toEqual(comparableProvenance(r.body.provenance));
    expect((r.body['points'] as unknown[]).length).toBe(1);
  });

  it('gives the same top-N over REST and gRPC, for multi-dimension keys too', async () => {
    for (const [v, aggregate] of [
      [view.name, 'flights'],
      [flightsPerRouteDay.name, 'distance'],
    ]) {
      const r = await rest(`/v1/views/${v}/top?aggregate=${aggregate}&from=${DAY}&to=${NEXT_DAY}&n=5`);
      expect(r.status).toBe(200);
      const g = await rpc<{ entries: { key: Record<string, string>; values: never }[]; provenance: never }>('TopN', { view: v, aggregate, from_ms: String(DAY), to_ms: String(NEXT_DAY), n: 5 });
      expect(g.entries.map((e) => ({ key: e.key, value: valuesFromProto(e.values)[aggregate] }))).toEqual(r.body['entries']);
      expect(provenanceFromProto(g.provenance)).toEqual(comparableProvenance(r.body.provenance));
      expect((r.body['entries'] as unknown[]).length).toBe(5);
    }
    const asc = await rest(`/v1/views/${view.name}/top?aggregate=flights&from=${DAY}&to=${NEXT_DAY}&n=3&order=asc`);
    const gAsc = await rpc<{ entries: { key: Record<string, string> }[] }>('TopN', { view: view.name, aggregate: 'flights', from_ms: String(DAY), to_ms: String(NEXT_DAY), n: 3, ascending: true });
    expect(gAsc.entries.map((e) => e.key)).toEqual((asc.body['entries'] as { key: unknown }[]).map((e) => e.key));
  });

  it('lists views over both transports', async () => {
    const r = await rest('/v1/views');
    const g = await rpc<{ views: { name: string; batch_version: string; freshness_ms: string; dimensions: string[]; granularity: string }[] }>('ListViews', {});
    const restViews = r.body['views'] as { name: string; batch: { version: number } | null; freshnessMs: number | null; dimensions: string[] }[];
    expect(g.views.map((v) => v.name)).toEqual(restViews.map((v) => v.name));
    for (const v of g.views) {
      const match = restViews.find((x) => x.name === v.name)!;
      expect(Number(v.batch_version)).toBe(match.batch?.version ?? 0);
      expect(Number(v.freshness_ms)).toBe(match.freshnessMs ?? -1);
      expect(v.dimensions).toEqual(match.dimensions);
    }
    expect(restViews.find((v) => v.name === view.name)).toMatchObject({ batch: { version: 3 }, granularity: 'hour' });
    const one = await rest(`/v1/views/${flightsPerRouteDay.name}`);
    expect(one.body).toMatchObject({ name: flightsPerRouteDay.name, dimensions: ['origin', 'destination'] });
  });

  it('asks for an API key (401) and refuses a wrong one (403) on both transports', async () => {
    const url = `/v1/views/${view.name}/value?key=ORD&from=${DAY}&to=${NEXT_DAY}`;
    expect((await rest(url, null)).status).toBe(401);
    expect((await rest(url, 'nope')).status).toBe(403);
    expect((await rest(url, 'read-key-2')).status).toBe(200);
    const request = { view: view.name, key: { origin: 'ORD' }, from_ms: String(DAY), to_ms: String(NEXT_DAY) };
    await expect(rpc('Value', request, null)).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    await expect(rpc('Value', request, 'nope')).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
  });

  it('names the bad parameter in a 400 and answers 404 for unknown views and keys', async () => {
    const base = `/v1/views/${view.name}`;
    const cases: [string, number, string | undefined][] = [
      [`${base}/value?key=ORD&from=yesterday&to=${NEXT_DAY}`, 400, 'from'],
      [`${base}/value?key=ORD&from=${NEXT_DAY}&to=${DAY}`, 400, 'to'],
      [`${base}/value?key=ORD&from=${DAY}`, 400, 'to'],
      [`${base}/value?from=${DAY}&to=${NEXT_DAY}`, 400, 'key'],
      [`${base}/value?key=ORD&key=ATL&from=${DAY}&to=${NEXT_DAY}`, 400, 'key'],
      [`${base}/value?key=ORD&from=${DAY}&to=${NEXT_DAY}&colour=red`, 400, 'colour'],
      [`${base}/series?key=ORD&from=${DAY}&to=${NEXT_DAY}&granularity=minute`, 400, 'granularity'],
      [`${base}/series?key=ORD&from=${DAY}&to=${NEXT_DAY}&granularity=fortnight`, 400, 'granularity'],
      [`${base}/top?aggregate=flights&from=${DAY}&to=${NEXT_DAY}&n=-1`, 400, 'n'],
      [`${base}/top?aggregate=flights&from=${DAY}&to=${NEXT_DAY}&n=1.5`, 400, 'n'],
      [`${base}/top?aggregate=destinations_typo&from=${DAY}&to=${NEXT_DAY}`, 400, 'aggregate'],
      [`${base}/top?aggregate=flights&from=${DAY}&to=${NEXT_DAY}&order=sideways`, 400, 'order'],
      [`/v1/views/${flightsPerRouteDay.name}/value?key=ORD&from=${DAY}&to=${NEXT_DAY}`, 400, 'key'],
      [`/v1/views/no_such_view/value?key=ORD&from=${DAY}&to=${NEXT_DAY}`, 404, undefined],
      [`${base}/value?key=ZZZ&from=${DAY}&to=${NEXT_DAY}`, 404, undefined],
    ];
    for (const [url, status, parameter] of cases) {
      const r = await rest(url);
      expect({ url, status: r.status, parameter: r.body['parameter'] }).toEqual({ url, status, parameter });
      expect(typeof r.body['message']).toBe('string');
    }
    await expect(rpc('Value', { view: view.name, key: { origin: 'ORD' }, from_ms: String(NEXT_DAY), to_ms: String(DAY) })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    await expect(rpc('Value', { view: view.name, key: { airport: 'ORD' }, from_ms: String(DAY), to_ms: String(NEXT_DAY) })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/^key: must name exactly the dimensions origin; missing origin; unknown airport/),
    });
    await expect(rpc('Value', { view: 'nope', key: {}, from_ms: String(DAY), to_ms: String(NEXT_DAY) })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(rpc('TopN', { view: view.name, aggregate: 'flights', from_ms: String(DAY), to_ms: String(NEXT_DAY), n: 0 })).resolves.toMatchObject({ entries: expect.any(Array) });
  });

  it('treats SQL-looking keys as values: 404, and nothing changes', async () => {
    const count = async () => (await db.pool.query('SELECT (SELECT count(*) FROM tandem_realtime)::int AS r, (SELECT count(*) FROM tandem_batch_current)::int AS b')).rows[0];
    const before = await count();
    for (const key of ["ORD'; DROP TABLE tandem_realtime; --", "ORD' OR '1'='1", 'ORD"; DELETE FROM tandem_batch_current; --']) {
      const r = await rest(`/v1/views/${view.name}/value?key=${encodeURIComponent(key)}&from=${DAY}&to=${NEXT_DAY}`);
      expect(r.status).toBe(404);
      await expect(rpc('Value', { view: view.name, key: { origin: key }, from_ms: String(DAY), to_ms: String(NEXT_DAY) })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    }
    const r = await rest(`/v1/views/${encodeURIComponent("x'; DROP TABLE tandem_realtime; --")}/value?key=ORD&from=${DAY}&to=${NEXT_DAY}`);
    expect(r.status).toBe(404);
    expect(await count()).toEqual(before);
    expect((await rest(`/v1/views/${view.name}/value?key=ORD&from=${DAY}&to=${NEXT_DAY}`)).status).toBe(200);
  });

  it('serves health and metrics without a key, and OpenAPI at /docs', async () => {
    const health = await rest('/health', null);
    expect(health).toMatchObject({ status: 200, body: { status: 'ok', info: { postgres: { status: 'up' } } } });
    const metrics = await rest('/metrics', null);
    expect(metrics.status).toBe(200);
    expect(String(metrics.body)).toMatch(/tandem_serving_http_requests_total\{method="GET",route="\/v1\/views\/:view\/value",status="200"\} \d+/);
    expect(String(metrics.body)).toMatch(/tandem_serving_grpc_requests_total\{method="Value",code="OK"\} \d+/);
    const ui = await rest('/docs', null);
    expect(ui.status).toBe(200);
    expect(String(ui.body)).toMatch(/swagger/i);
    const doc = await rest('/docs-json', null);
    expect(Object.keys(doc.body['paths'] as object)).toEqual(
      expect.arrayContaining(['/v1/views', '/v1/views/{view}', '/v1/views/{view}/series', '/v1/views/{view}/top', '/v1/views/{view}/value']),
    );
  });

  it('lists its services through gRPC server reflection, with descriptors strict clients accept', async () => {
    const reflectionProto = path.join(path.dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto/grpc/reflection/v1/reflection.proto');
    const pkg = grpc.loadPackageDefinition(loadSync(reflectionProto, { keepCase: true })) as unknown as { grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } } };
    const client = new pkg.grpc.reflection.v1.ServerReflection(`127.0.0.1:${edge.grpcPort}`, grpc.credentials.createInsecure());
    type Reply = { list_services_response?: { service: { name: string }[] }; file_descriptor_response?: { file_descriptor_proto: Buffer[] } };
    const ask = (request: object) =>
      new Promise<Reply>((resolve, reject) => {
        const call = (client['ServerReflectionInfo'] as () => grpc.ClientDuplexStream<object, Reply>)();
        call.on('data', (r) => {
          resolve(r);
          call.end();
        });
        call.on('error', reject);
        call.write(request);
      });
    try {
      const services = (await ask({ list_services: '' })).list_services_response?.service.map((s) => s.name);
      expect(services).toContain('tandem.v1.Query');
      // grpcurl (protobuf-go) refuses a map whose entry type is not named <Field>Entry.
      const files = (await ask({ file_containing_symbol: 'tandem.v1.Query' })).file_descriptor_response!.file_descriptor_proto;
      const messages = files.flatMap((f) => (FileDescriptorProto.decode(f) as unknown as { messageType: { name: string; nestedType: { name: string }[] }[] }).messageType);
      expect(messages.find((m) => m.name === 'ValueRequest')!.nestedType.map((n) => n.name)).toEqual(['KeyEntry']);
    } finally {
      client.close();
    }
  });

  it('limits the request rate per client (429 with Retry-After, RESOURCE_EXHAUSTED)', async () => {
    const queries = new QueryService({ pool: db.pool, chunkSize: CHUNK });
    const limited = await startServingEdge({ queries, http: { port: 0, host: '127.0.0.1' }, grpc: { port: 0, host: '127.0.0.1' }, apiKeys: [], rateLimit: { limit: 3, windowMs: 60_000 }, logger: false });
    const client = queryClient(`127.0.0.1:${limited.grpcPort}`);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await fetch(`${limited.httpUrl}/v1/views`)).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const last = await fetch(`${limited.httpUrl}/v1/views`);
      expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await fetch(`${limited.httpUrl}/health`)).status).toBe(200);
      for (let i = 0; i < 3; i++) await client.call('ListViews', {});
      await expect(client.call('ListViews', {})).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    } finally {
      client.close();
      await limited.close();
    }
  });
});
