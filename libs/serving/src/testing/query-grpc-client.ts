import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { PROTO_LOADER_OPTIONS, protoPath } from '@tandem/contracts';

/**
 * A plain grpc-js client of tandem.v1.Query with promise methods, and converters from its
 * answers back to the REST shapes, so tests can check that both transports say the same.
 */
export interface QueryClient {
  call<T = Record<string, unknown>>(method: 'ListViews' | 'TimeSeries' | 'TopN' | 'Value', request: object, metadata?: Record<string, string>): Promise<T>;
  close(): void;
}

/** `ownConnection` gives the client its own HTTP/2 connection instead of sharing one per address. */
export function queryClient(address: string, options: { ownConnection?: boolean } = {}): QueryClient {
  const definition = loadSync(protoPath('query'), { ...PROTO_LOADER_OPTIONS });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { tandem: { v1: { Query: grpc.ServiceClientConstructor } } };
  const client = new pkg.tandem.v1.Query(address, grpc.credentials.createInsecure(), options.ownConnection ? { 'grpc.use_local_subchannel_pool': 1 } : {});
  return {
    call: (method, request, metadata = {}) =>
      new Promise((resolve, reject) => {
        const md = new grpc.Metadata();
        for (const [k, v] of Object.entries(metadata)) md.set(k, v);
        (client[method] as (r: object, m: grpc.Metadata, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void)(request, md, (error, response) =>
          error ? reject(error) : resolve(response as never),
        );
      }),
    close: () => client.close(),
  };
}

type ProtoValue = { kind?: string; number?: number; json?: string };
type ProtoProvenance = Record<string, unknown> & {
  batch_version: string;
  batch_cut: { topic: string; partition: number; offset: string }[];
  speed_offsets: { topic: string; partition: number; offset: string }[];
};

export function valuesFromProto(values: Record<string, ProtoValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(values)) out[name] = v.kind === 'number' ? v.number : v.kind === 'json' ? JSON.parse(v.json!) : null;
  return out;
}

/** The REST provenance fields that the proto carries, from a proto Provenance. */
export function provenanceFromProto(p: ProtoProvenance) {
  const batchVersion = Number(p.batch_version);
  return {
    transformVersion: p['transform_version'],
    codeTransformVersion: p['code_transform_version'],
    batch:
      batchVersion === 0
        ? null
        : {
            version: batchVersion,
            runId: p['batch_run_id'],
            flippedAt: new Date(Number(p['batch_flipped_at_ms'])).toISOString(),
            topic: p.batch_cut[0]?.topic,
            cut: p.batch_cut.map((c) => ({ partition: c.partition, offset: Number(c.offset) })),
          },
    speed: {
      offsets: p.speed_offsets.map((o) => ({ partition: o.partition, offset: Number(o.offset) })),
      freshnessMs: Number(p['freshness_ms']) === -1 ? null : Number(p['freshness_ms']),
    },
    rows: { batch: Number(p['rows_from_batch']), speed: Number(p['rows_from_speed']) },
    events: { batch: Number(p['events_from_batch']), speed: Number(p['events_from_speed']) },
    notes: p['notes'],
  };
}

/** The same fields from a REST provenance, for comparison with provenanceFromProto. */
export function comparableProvenance(p: { speed: { offsets: unknown; freshnessMs: unknown }; batch: unknown } & Record<string, unknown>) {
  // The proto carries the batch topic on each cut entry, so a batch with an empty cut has none.
  const batch = p.batch as { topic: string; cut: unknown[] } | null;
  return {
    transformVersion: p['transformVersion'],
    codeTransformVersion: p['codeTransformVersion'],
    batch: batch === null ? null : { ...batch, topic: batch.cut.length > 0 ? batch.topic : undefined },
    speed: { offsets: p.speed.offsets, freshnessMs: p.speed.freshnessMs },
    rows: p['rows'],
    events: p['events'],
    notes: p['notes'],
  };
}
