import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { DEAD_LETTER_REASON_HEADER, flights, PROTO_LOADER_OPTIONS, protoPath } from '@tandem/contracts';
import { KafkaLog, type KafkaLogger } from '@tandem/platform';
import { testEnv, uniqueName } from '@tandem/testkit';
import * as net from 'node:net';
import { startIngestEdge, type IngestEdge } from './ingest-app';
import { IngestMetrics } from './ingest-metrics';
import { IngestService } from './ingest-service';
import { readTopic } from './testing/read-topic';

// Real servers on a shared machine: hooks and tests get more than Jest's default 5 s.
jest.setTimeout(60_000);

const WRITE_KEY = 'write-key-1';
const quiet: KafkaLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };
const flight = (i: number, origin = 'SFO') => ({ ts: 978307200000 + i * 60_000, delay: (i % 50) - 10, distance: 300 + i, origin, destination: 'LAX' });

type IngestClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

function ingestClient(port: number): IngestClient {
  const pkg = grpc.loadPackageDefinition(loadSync(protoPath('ingest'), { ...PROTO_LOADER_OPTIONS })) as unknown as { tandem: { v1: { Ingest: grpc.ServiceClientConstructor } } };
  return new pkg.tandem.v1.Ingest(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as IngestClient;
}

const metadata = (key: string | null = WRITE_KEY) => {
  const md = new grpc.Metadata();
  if (key !== null) md.set('x-api-key', key);
  return md;
};

interface ProtoResponse {
  accepted: number;
  rejected: number;
  results: { index: number; accepted: boolean; error_reason: string; error_detail: string; partition: number; offset: string }[];
}

function publish(client: IngestClient, request: object, key: string | null = WRITE_KEY): Promise<ProtoResponse> {
  return new Promise((resolve, reject) => client['Publish'](request, metadata(key), (e: grpc.ServiceError | null, r: ProtoResponse) => (e ? reject(e) : resolve(r))));
}

function publishStream(client: IngestClient, requests: object[]): Promise<ProtoResponse> {
  return new Promise((resolve, reject) => {
    const call = client['PublishStream'](metadata(), (e: grpc.ServiceError | null, r: ProtoResponse) => (e ? reject(e) : resolve(r))) as grpc.ClientWritableStream<object>;
    for (const r of requests) call.write(r);
    call.end();
  });
}

describe('ingest edge over a real Kafka broker', () => {
  const { brokers } = testEnv();
  const prefix = `${uniqueName('ingest')}.`;
  const topic = `${prefix}${flights.topic}`;
  const deadLetters = `${prefix}${flights.deadLetterTopic}`;
  let log: KafkaLog;
  let ingest: IngestService;
  let edge: IngestEdge;
  let client: IngestClient;

  const post = async (stream: string, body: string, key: string | null = WRITE_KEY, contentType = 'application/json') => {
    const res = await fetch(`${edge.httpUrl}/v1/streams/${stream}/events`, {
      method: 'POST',
      headers: { 'content-type': contentType, ...(key === null ? {} : { 'x-api-key': key }) },
      body,
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> & { results: Record<string, unknown>[] } };
  };

  beforeAll(async () => {
    log = new KafkaLog({ brokers, clientId: 'ingest-test', logger: quiet });
    const metrics = new IngestMetrics({ defaultMetrics: false });
    ingest = new IngestService({ log, topicPrefix: prefix, maxEventBytes: 1024, sendTimeoutMs: 15_000, observer: metrics });
    edge = await startIngestEdge({
      ingest,
      metrics,
      http: { port: 0, host: '127.0.0.1' },
      grpc: { port: 0, host: '127.0.0.1' },
      apiKeys: [WRITE_KEY],
      rateLimit: { limit: 0, windowMs: 1_000 },
      maxBodyBytes: 32 * 1024,
      logger: false,
    });
    client = ingestClient(edge.grpcPort!);
  });

  afterAll(async () => {
    client?.close();
    await edge?.close();
    await ingest?.close();
    await log?.close();
  });

  it('writes every accepted event exactly once, keyed by its contract, and rejects the rest with the reason', async () => {
    const events = [flight(1, 'SFO'), flight(2, 'JFK'), { ...flight(3), delay: 'late' }, flight(4, 'ORD'), { ...flight(5), origin: 'sfo' }];
    const rest = await post('flights', JSON.stringify(events));
    expect(rest.status).toBe(207);
    expect(rest.body).toMatchObject({ stream: 'flights', accepted: 3, rejected: 2 });
    expect(rest.body.results.map((r) => r['accepted'])).toEqual([true, true, false, true, false]);
    expect(rest.body.results[2]).toMatchObject({ index: 2, accepted: false, reason: 'schema-violation', detail: expect.stringMatching(/\/delay/) });
    expect(rest.body.results[4]).toMatchObject({ reason: 'schema-violation', detail: expect.stringMatching(/\/origin/) });

    const g = await publish(client, { stream: 'flights', events: [JSON.stringify(flight(6, 'BOS')), '{"ts": 1,', JSON.stringify(flight(7, 'SEA'))] });
    expect(g).toMatchObject({ accepted: 2, rejected: 1 });
    expect(g.results[1]).toMatchObject({ index: 1, accepted: false, error_reason: 'malformed-json' });

    const records = await readTopic(brokers, topic);
    const accepted = [...rest.body.results.filter((r) => r['accepted']).map((r) => ({ partition: r['partition'], offset: r['offset'] })), ...g.results.filter((r) => r.accepted).map((r) => ({ partition: r.partition, offset: Number(r.offset) }))];
    expect(records.map((r) => ({ partition: r.partition, offset: r.offset })).sort(byPosition)).toEqual(accepted.sort(byPosition));
    expect(records.map((r) => JSON.parse(r.value).origin).sort()).toEqual(['BOS', 'JFK', 'ORD', 'SEA', 'SFO']);
    for (const r of records) expect(r.key).toBe(JSON.parse(r.value).origin);

    const dead = await readTopic(brokers, deadLetters);
    expect(dead.map((d) => d.headers[DEAD_LETTER_REASON_HEADER]).sort()).toEqual(['malformed-json', 'schema-violation', 'schema-violation']);
  });

  it('counts PublishStream results across requests and rejects an unknown stream\'s events alone', async () => {
    const before = (await readTopic(brokers, topic)).length;
    const response = await publishStream(client, [
      { stream: 'flights', events: [JSON.stringify(flight(10, 'DEN')), JSON.stringify(flight(11, 'DEN'))] },
      { stream: 'no_such_stream', events: ['{}'] },
      { stream: 'flights', events: [JSON.stringify(flight(12, 'DEN'))] },
    ]);
    expect(response).toMatchObject({ accepted: 3, rejected: 1 });
    expect(response.results.map((r) => [r.index, r.accepted, r.error_reason])).toEqual([
      [0, true, ''],
      [1, true, ''],
      [2, false, 'unknown-stream'],
      [3, true, ''],
    ]);
    expect((await readTopic(brokers, topic)).length).toBe(before + 3);
  });

  it('answers bad requests with the documented error and writes nothing', async () => {
    const before = (await readTopic(brokers, topic)).length;
    const cases: [string, string, number, string | undefined, string?][] = [
      ['flights', '[{"ts": 1,', 400, 'body'],
      ['flights', '{"not": "an array"}', 400, 'body'],
      ['flights', '[]', 400, 'events'],
      ['flights', '"just text"', 400, 'body'],
      ['flights', JSON.stringify([flight(1)]), 400, 'body', 'text/plain'],
      ['no_such_stream', JSON.stringify([flight(1)]), 404, undefined],
      ['flights; DROP TABLE x', JSON.stringify([flight(1)]), 404, undefined],
      ['flights', JSON.stringify(Array.from({ length: 600 }, (_, i) => flight(i))), 413, undefined],
    ];
    for (const [stream, body, status, parameter, type] of cases) {
      const r = await post(encodeURIComponent(stream), body, WRITE_KEY, type);
      expect({ stream, body: body.slice(0, 30), status: r.status, parameter: r.body['parameter'] }).toEqual({ stream, body: body.slice(0, 30), status, parameter });
      expect(typeof r.body['message']).toBe('string');
    }
    const wrongTypes = await post('flights', JSON.stringify([{ ...flight(1), distance: '300' }, { ...flight(2), ts: -1 }, 'x', null, { ...flight(3), extra: true }]));
    expect(wrongTypes.status).toBe(422);
    expect(wrongTypes.body.results.map((r) => r['reason'])).toEqual(['schema-violation', 'schema-violation', 'schema-violation', 'schema-violation', 'schema-violation']);
    const oversized = await post('flights', JSON.stringify([{ ...flight(1), padding: 'x'.repeat(2_000) }]));
    expect(oversized.body.results[0]).toMatchObject({ accepted: false, reason: 'oversized' });
    await expect(publish(client, { stream: 'no_such_stream', events: ['{}'] })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(publish(client, { stream: 'flights', events: [] })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    await expect(publish(client, { stream: 'flights', events: ['x'.repeat(40 * 1024)] })).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    expect((await readTopic(brokers, topic)).length).toBe(before);
  });

  it('asks for a write key (401) and refuses a wrong one (403) on both transports', async () => {
    expect((await post('flights', JSON.stringify([flight(1)]), null)).status).toBe(401);
    expect((await post('flights', JSON.stringify([flight(1)]), 'read-key')).status).toBe(403);
    await expect(publish(client, { stream: 'flights', events: ['{}'] }, null)).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    await expect(publish(client, { stream: 'flights', events: ['{}'] }, 'nope')).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
  });

  it('serves health, metrics, the stream list and OpenAPI', async () => {
    const health = await fetch(`${edge.httpUrl}/health`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`${edge.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/tandem_ingest_events_total\{stream="flights",outcome="accepted"\} \d+/);
    expect(metrics).toMatch(/tandem_ingest_events_total\{stream="flights",outcome="schema-violation"\} \d+/);
    expect(metrics).toMatch(/tandem_ingest_http_requests_total\{method="POST",route="\/v1\/streams\/:stream\/events",status="207"\} \d+/);
    const streams = (await (await fetch(`${edge.httpUrl}/v1/streams`, { headers: { 'x-api-key': WRITE_KEY } })).json()) as { streams: { name: string; topic: string }[] };
    expect(streams.streams).toContainEqual(expect.objectContaining({ name: 'flights', topic }));
    const doc = (await (await fetch(`${edge.httpUrl}/docs-json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain('/v1/streams/{stream}/events');
  });

  it('answers 503 with Retry-After, not a hung request, when Kafka is unreachable', async () => {
    const closedPort = await freePort();
    const deadLog = new KafkaLog({ brokers: [`127.0.0.1:${closedPort}`], clientId: 'ingest-test-dead', logger: quiet, connectionTimeout: 500, retry: { retries: 1, initialRetryTime: 100 } });
    const deadIngest = new IngestService({ log: deadLog, sendTimeoutMs: 1_000 });
    const deadEdge = await startIngestEdge({
      ingest: deadIngest,
      metrics: new IngestMetrics({ defaultMetrics: false }),
      http: { port: 0, host: '127.0.0.1' },
      grpc: { port: 0, host: '127.0.0.1' },
      apiKeys: [],
      rateLimit: { limit: 0, windowMs: 1_000 },
      maxBodyBytes: 32 * 1024,
      logger: false,
    });
    const deadClient = ingestClient(deadEdge.grpcPort!);
    try {
      const started = Date.now();
      const res = await fetch(`${deadEdge.httpUrl}/v1/streams/flights/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([flight(1)]) });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(((await res.json()) as { message: string }).message).toMatch(/did not acknowledge|ECONNREFUSED|Connection error|connect/i);
      await expect(publish(deadClient, { stream: 'flights', events: [JSON.stringify(flight(1))] }, null)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      expect((await fetch(`${deadEdge.httpUrl}/health`)).status).toBe(503);
      expect((await fetch(`${deadEdge.httpUrl}/health/live`)).status).toBe(200);
    } finally {
      deadClient.close();
      await deadEdge.close();
      await deadIngest.close();
      await deadLog.close();
    }
  }, 30_000);
});

describe('ingest against a broker that accepts connections but never answers', () => {
  it('answers 503 after the send timeout instead of hanging', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    // Requests time out (3 s) after the ingest send timeout (1.2 s): the timeout under test fires first.
    const log = new KafkaLog({ brokers: [`127.0.0.1:${port}`], clientId: 'ingest-test-silent', logger: quiet, requestTimeout: 3_000, retry: { retries: 0 } });
    const ingest = new IngestService({ log, sendTimeoutMs: 1_200 });
    try {
      const started = Date.now();
      await expect(ingest.publishValues('flights', [flight(1)])).rejects.toMatchObject({ name: 'LogUnavailableError', retryAfterSeconds: 2 });
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(1_100);
      expect(took).toBeLessThan(4_000);
    } finally {
      await ingest.close();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
      await log.close().catch(() => undefined);
    }
  }, 30_000);
});

const byPosition = (a: { partition: unknown; offset: unknown }, b: { partition: unknown; offset: unknown }) =>
  Number(a.partition) - Number(b.partition) || Number(a.offset) - Number(b.offset);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
