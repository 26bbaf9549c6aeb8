import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { PROTO_LOADER_OPTIONS, protoPath, type ProtoName } from '@tandem/contracts';
import { closedLoop, type LoadSummary } from './latency';

/**
 * A grpc-js load loop: `concurrency` callers, each on its own connection (as autocannon opens
 * one TCP connection per caller), calling one unary method with one request for `seconds`.
 *
 * The request is serialised once and responses are taken as bytes, not decoded: autocannon
 * does not parse the JSON of REST answers either, so both measure the server, not the
 * client's codec.
 */
export async function grpcLoad(address: string, proto: ProtoName, service: string, method: string, request: object, concurrency: number, seconds: number): Promise<LoadSummary> {
  const definition = loadSync(protoPath(proto), { ...PROTO_LOADER_OPTIONS });
  const descriptor = definition[`tandem.v1.${service}`] as unknown as Record<string, { path: string; requestSerialize: (r: object) => Buffer }>;
  const { path, requestSerialize } = descriptor[method];
  const body = requestSerialize(request);
  const clients = Array.from({ length: concurrency }, () => new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, 'grpc.enable_channelz': 0 }));
  const metadata = new grpc.Metadata();
  const bytes = (b: Buffer) => b;
  let next = 0;
  try {
    return await closedLoop(
      () =>
        new Promise<Buffer>((resolve, reject) =>
          clients[next++ % clients.length].makeUnaryRequest(path, bytes, bytes, body, metadata, (error, response) => (error ? reject(error) : resolve(response!))),
        ),
      concurrency,
      seconds,
    );
  } finally {
    for (const c of clients) c.close();
  }
}
