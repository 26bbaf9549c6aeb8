import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { loadSync, type MessageTypeDefinition, type PackageDefinition, type ServiceDefinition } from '@grpc/proto-loader';
import { GRPC_PACKAGE, PROTO_DIR, PROTO_LOADER_OPTIONS, protoPath, type ProtoName } from './proto-path';

const load = (name: ProtoName): PackageDefinition =>
  loadSync(protoPath(name), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });

const service = (definition: PackageDefinition, name: string) => definition[`${GRPC_PACKAGE}.${name}`] as ServiceDefinition;
const message = (definition: PackageDefinition, name: string) => definition[`${GRPC_PACKAGE}.${name}`] as MessageTypeDefinition<object, object>;
const fields = (definition: PackageDefinition, name: string) =>
  Object.fromEntries(
    (message(definition, name).type as { field: { name: string; type: string; label: string; typeName: string }[] }).field.map((f) => [
      f.name,
      `${f.label === 'LABEL_REPEATED' ? 'repeated ' : ''}${f.typeName || f.type}`,
    ]),
  );

describe('protoPath', () => {
  it('gives absolute paths of files that exist', () => {
    for (const name of ['ingest', 'query'] as const) {
      const file = protoPath(name);
      expect(path.isAbsolute(file)).toBe(true);
      expect(existsSync(file)).toBe(true);
      expect(path.dirname(file)).toBe(PROTO_DIR);
    }
    expect(protoPath('ingest').endsWith(path.join('libs', 'contracts', 'proto', 'ingest.proto'))).toBe(true);
  });

  it('rejects an unknown name, listing the known ones', () => {
    expect(() => protoPath('admin' as ProtoName)).toThrow('unknown proto "admin"; known: ingest, query');
  });

  it('loads with the shared loader options', () => {
    const definition = loadSync(protoPath('query'), { ...PROTO_LOADER_OPTIONS });
    expect(service(definition, 'Query')).toBeDefined();
  });
});

describe('ingest.proto', () => {
  const definition = load('ingest');

  it('defines tandem.v1.Ingest with unary Publish and client-streaming PublishStream', () => {
    const ingest = service(definition, 'Ingest');
    expect(Object.keys(ingest).sort()).toEqual(['Publish', 'PublishStream']);
    expect(ingest.Publish).toMatchObject({ path: '/tandem.v1.Ingest/Publish', requestStream: false, responseStream: false });
    expect(ingest.PublishStream).toMatchObject({ path: '/tandem.v1.Ingest/PublishStream', requestStream: true, responseStream: false });
  });

  it('carries events as JSON strings and answers per event', () => {
    expect(fields(definition, 'PublishRequest')).toEqual({ stream: 'TYPE_STRING', events: 'repeated TYPE_STRING' });
    expect(fields(definition, 'PublishResponse')).toEqual({
      accepted: 'TYPE_UINT32', rejected: 'TYPE_UINT32', results: 'repeated EventResult',
    });
    expect(fields(definition, 'EventResult')).toEqual({
      index: 'TYPE_UINT32',
      accepted: 'TYPE_BOOL',
      error_reason: 'TYPE_STRING',
      error_detail: 'TYPE_STRING',
      partition: 'TYPE_INT32',
      offset: 'TYPE_INT64',
    });
  });
});

describe('query.proto', () => {
  const definition = load('query');

  it('defines tandem.v1.Query with four unary methods', () => {
    const query = service(definition, 'Query');
    expect(Object.keys(query).sort()).toEqual(['ListViews', 'TimeSeries', 'TopN', 'Value']);
    for (const method of Object.values(query)) expect([method.requestStream, method.responseStream]).toEqual([false, false]);
    expect(query.TimeSeries.path).toBe('/tandem.v1.Query/TimeSeries');
  });

  it('takes views, keys, half-open ms ranges and a roll-up granularity', () => {
    expect(fields(definition, 'TimeSeriesRequest')).toEqual({
      view: 'TYPE_STRING',
      key: expect.stringMatching(/^repeated /), // a map<string, string>, checked by the round trip below
      from_ms: 'TYPE_INT64',
      to_ms: 'TYPE_INT64',
      granularity: 'Granularity',
      aggregates: 'repeated TYPE_STRING',
    });
    expect(fields(definition, 'TopNRequest')).toEqual({
      view: 'TYPE_STRING', aggregate: 'TYPE_STRING', from_ms: 'TYPE_INT64', to_ms: 'TYPE_INT64', n: 'TYPE_UINT32', ascending: 'TYPE_BOOL',
    });
    expect(Object.keys(fields(definition, 'ValueRequest'))).toEqual(['view', 'key', 'from_ms', 'to_ms', 'aggregates']);
    const granularity = message(definition, 'Granularity').type as { value: { name: string }[] };
    expect(granularity.value.map((v) => v.name)).toEqual([
      'GRANULARITY_UNSPECIFIED', 'GRANULARITY_MINUTE', 'GRANULARITY_HOUR', 'GRANULARITY_DAY',
    ]);
  });

  it('round-trips a request with a multi-dimension key and int64 bounds', () => {
    const method = service(definition, 'Query').TimeSeries;
    const request = {
      view: 'requests_by_path',
      key: { path: '/a', status: '200' },
      from_ms: '1431820800000',
      to_ms: '1431907200000',
      granularity: 'GRANULARITY_HOUR',
      aggregates: ['count'],
    };
    expect(method.requestDeserialize(method.requestSerialize(request))).toEqual(request);
  });

  it('answers with values as a oneof of number or JSON text', () => {
    expect(fields(definition, 'Value')).toEqual({ number: 'TYPE_DOUBLE', json: 'TYPE_STRING' });
    const type = message(definition, 'Value').type as { oneofDecl: { name: string }[] };
    expect(type.oneofDecl.map((o) => o.name)).toEqual(['kind']);
  });

  it('answers with provenance on every query', () => {
    expect(fields(definition, 'Provenance')).toEqual({
      batch_version: 'TYPE_INT64',
      batch_cut: 'repeated PartitionOffset',
      speed_offsets: 'repeated PartitionOffset',
      freshness_ms: 'TYPE_INT64',
      transform_version: 'TYPE_STRING',
      rows_from_batch: 'TYPE_INT64',
      rows_from_speed: 'TYPE_INT64',
      events_from_batch: 'TYPE_INT64',
      events_from_speed: 'TYPE_INT64',
      code_transform_version: 'TYPE_STRING',
      batch_run_id: 'TYPE_STRING',
      batch_flipped_at_ms: 'TYPE_INT64',
      notes: 'repeated TYPE_STRING',
    });
    expect(fields(definition, 'PartitionOffset')).toEqual({ topic: 'TYPE_STRING', partition: 'TYPE_INT32', offset: 'TYPE_INT64' });
    for (const answer of ['TimeSeriesResponse', 'TopNResponse', 'ValueResponse']) {
      expect(fields(definition, answer).provenance).toBe('Provenance');
    }
  });

  it('serialises an answer with int64 as decimal strings and the oneof named', () => {
    const ValueResponse = service(definition, 'Query').Value.responseSerialize;
    const decode = service(definition, 'Query').Value.responseDeserialize;
    const answer = {
      values: { count: { number: 3 }, p99: { json: '{"p99":80}' } },
      provenance: {
        batch_version: '7',
        batch_cut: [{ topic: 'tandem.flights.v1', partition: 0, offset: '9223372036854775807' }],
        speed_offsets: [],
        freshness_ms: '1500',
        transform_version: 'v1-abc',
        rows_from_batch: '10',
        rows_from_speed: '2',
      },
    };
    const decoded = decode(ValueResponse(answer)) as typeof answer & { values: Record<string, { kind: string }> };
    expect(decoded.values.count).toMatchObject({ number: 3, kind: 'number' });
    expect(decoded.values.p99).toMatchObject({ json: '{"p99":80}', kind: 'json' });
    expect(decoded.provenance.batch_cut[0].offset).toBe('9223372036854775807');
  });
});
