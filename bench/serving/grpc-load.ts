import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { PROTO_LOADER_OPTIONS, protoPath, type ProtoName } from '@tandem/contracts';
import { closedLoop, type LoadSummary } from './latency';

/** How the callers of a grpc-js load loop reach the server. */
export type GrpcChannels = 'shared' | 'per-caller';

/**
 * The gRPC load loop: grpc-js' own client (`Client.makeUnaryRequest`), `concurrency` callers
 * each keeping one call in flight, calling one unary method with one request for `seconds`.
 *
 * `shared` (the default) gives all callers one channel, so their calls are multiplexed as
 * streams of one HTTP/2 connection: what grpc-js does with the clients of one target unless told
 * otherwise (they share a subchannel), and what HTTP/2 is for; the calls of the same tick then
 * leave and arrive in one socket write and read instead of one each. `per-caller` opens a
 * channel, and so a connection, per caller, as autocannon must for HTTP/1.1.
 *
 * The request is serialised once and responses are taken as bytes, not decoded: autocannon
 * does not parse the JSON of REST answers either, so both measure the server, not the client's
 * codec. A call counts when grpc-js reports status OK with exactly one response message, which
 * it checks itself. Retries are off: a closed loop counts failed calls, and a transparent retry
 * would turn a refused stream into a slower success (grpc-js also buffers every message of a
 * call for them). Channelz, which books every call, is off too.
 */
export async function grpcLoad(
  address: string,
  proto: ProtoName,
  service: string,
  method: string,
  request: object,
  concurrency: number,
  seconds: number,
  channels: GrpcChannels = 'shared',
): Promise<LoadSummary> {
  const { path, body } = serialisedCall(proto, service, method, request);
  const options: grpc.ChannelOptions = { 'grpc.enable_retries': 0, 'grpc.enable_channelz': 0, ...(channels === 'per-caller' ? { 'grpc.use_local_subchannel_pool': 1 } : {}) };
  const clients = Array.from({ length: channels === 'shared' ? 1 : concurrency }, () => new grpc.Client(address, grpc.credentials.createInsecure(), options));
  const metadata = new grpc.Metadata();
  const bytes = (b: Buffer) => b;
  try {
    // Connected before the clock starts, as the HTTP/2 loop's sessions and autocannon's sockets are.
    await Promise.all(clients.map((c) => new Promise<void>((resolve, reject) => c.waitForReady(Date.now() + 10_000, (error) => (error ? reject(error) : resolve())))));
    return await closedLoop(
      (caller) =>
        new Promise<Buffer>((resolve, reject) =>
          clients[caller % clients.length].makeUnaryRequest(path, bytes, bytes, body, metadata, (error, response) => (error ? reject(error) : resolve(response!))),
        ),
      concurrency,
      seconds,
    );
  } finally {
    for (const c of clients) c.close();
  }
}

/**
 * The gRPC peer of autocannon: `concurrency` callers, each on its own HTTP/2 connection, each
 * sending one pre-built unary call (HEADERS and one length-prefixed DATA frame) and waiting for
 * the answer before the next, as autocannon sends a pre-built HTTP/1.1 request per connection.
 *
 * A call counts as answered only when it ends with HTTP status 200, `grpc-status: 0` in the
 * trailers and one whole response message (its length prefix matches the bytes received), as
 * autocannon counts a 200 with its body read. What it leaves out is what autocannon leaves out
 * too: a client library's channel, name resolution, load balancing, interceptor and deadline
 * machinery, which grpc-js runs on every call (`grpcLoad`).
 */
export async function grpcWireLoad(address: string, proto: ProtoName, service: string, method: string, request: object, concurrency: number, seconds: number): Promise<LoadSummary> {
  const { path, body } = serialisedCall(proto, service, method, request);
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  const headers = { ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' };
  const sessions = await Promise.all(Array.from({ length: concurrency }, () => connect(`http://${address}`)));
  const call = (session: http2.ClientHttp2Session) =>
    new Promise<number>((resolve, reject) => {
      const stream = session.request(headers);
      let status: unknown;
      let grpcStatus: unknown;
      let received = 0;
      let declared = -1;
      let prefix: Buffer | undefined;
      stream.on('response', (h) => {
        status = h[':status'];
        // A failed call may answer with headers only ("Trailers-Only"): the status is here.
        if (h['grpc-status'] !== undefined) grpcStatus = h['grpc-status'];
      });
      stream.on('data', (chunk: Buffer) => {
        if (declared < 0) {
          // The 5-byte message prefix (compression flag, length) may arrive split.
          prefix = prefix === undefined ? chunk : Buffer.concat([prefix, chunk]);
          if (prefix.length >= 5) declared = prefix.readUInt32BE(1);
        }
        received += chunk.length;
      });
      stream.on('trailers', (t) => (grpcStatus = t['grpc-status']));
      stream.on('error', reject);
      stream.on('close', () => {
        if (status === 200 && grpcStatus === '0' && declared >= 0 && received === declared + 5) resolve(received);
        else reject(new Error(`call failed: HTTP ${String(status)}, grpc-status ${String(grpcStatus)}, ${received} bytes`));
      });
      stream.end(frame);
    });
  try {
    return await closedLoop((caller) => call(sessions[caller]), concurrency, seconds);
  } finally {
    for (const s of sessions) s.close();
  }
}

function serialisedCall(proto: ProtoName, service: string, method: string, request: object): { path: string; body: Buffer } {
  const definition = loadSync(protoPath(proto), { ...PROTO_LOADER_OPTIONS });
  const descriptor = definition[`tandem.v1.${service}`] as unknown as Record<string, { path: string; requestSerialize: (r: object) => Buffer }>;
  const { path, requestSerialize } = descriptor[method];
  return { path, body: requestSerialize(request) };
}

function connect(authority: string): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(authority);
    session.once('connect', () => {
      session.off('error', reject);
      // Later failures surface on the calls in flight, which count them as errors.
      session.on('error', () => undefined);
      resolve(session);
    });
    session.once('error', reject);
  });
}
