import * as grpc from '@grpc/grpc-js';
import { ImpossibleStateError, TandemError } from '../errors/tandem-error';
import { API_KEY_HEADER, API_KEY_MESSAGES, type ApiKeys } from './api-keys';
import type { EdgeMetrics } from './edge-metrics';
import type { FixedWindowLimiter } from './fixed-window-limiter';

/**
 * What every gRPC method of a service does around its handler: API-key check, rate limit,
 * error-to-status mapping, logging of server faults and metrics. The service maps its own
 * errors first (`mapError`); the rest follow the platform's hierarchy.
 */
export interface GrpcEdgeOptions {
  readonly apiKeys: ApiKeys;
  readonly limiter: FixedWindowLimiter;
  readonly metrics?: EdgeMetrics;
  readonly logger?: { error(message: string): void };
  /** Maps an error of the service to a gRPC failure; undefined for the defaults below. */
  readonly mapError?: (error: unknown) => GrpcFailure | undefined;
}

export interface GrpcFailure {
  readonly code: grpc.status;
  readonly details: string;
  readonly metadata?: grpc.Metadata;
}

/** Checks the caller; returns a failure to answer with, or undefined to proceed. */
export function admit(call: { metadata: grpc.Metadata; getPeer(): string }, options: GrpcEdgeOptions): GrpcFailure | undefined {
  const presented = call.metadata.get(API_KEY_HEADER)[0];
  const verdict = options.apiKeys.check(typeof presented === 'string' ? presented : undefined);
  if (verdict === 'missing') return { code: grpc.status.UNAUTHENTICATED, details: API_KEY_MESSAGES.missing };
  if (verdict === 'rejected') return { code: grpc.status.PERMISSION_DENIED, details: API_KEY_MESSAGES.rejected };
  if (!options.limiter.enabled) return undefined;
  const client = verdict === 'accepted' ? `key:${String(presented)}` : `peer:${peerHost(call.getPeer())}`;
  const retryMs = options.limiter.take(client);
  if (retryMs > 0) {
    const metadata = new grpc.Metadata();
    metadata.set('retry-after', String(Math.ceil(retryMs / 1000)));
    return { code: grpc.status.RESOURCE_EXHAUSTED, details: `rate limit exceeded; retry in ${Math.ceil(retryMs / 1000)} s`, metadata };
  }
  return undefined;
}

/** The status and message a failed call answers with; server faults are logged. */
export function failureOf(error: unknown, method: string, options: GrpcEdgeOptions): GrpcFailure {
  const mapped = options.mapError?.(error);
  if (mapped !== undefined) return mapped;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ImpossibleStateError) {
    options.logger?.error(`${method}: ${message}`);
    return { code: grpc.status.INTERNAL, details: `${error.name}: ${message}` };
  }
  if (error instanceof TandemError && error.retriable) {
    options.logger?.error(`${method}: ${message}`);
    return { code: grpc.status.UNAVAILABLE, details: message };
  }
  options.logger?.error(`${method}: ${error instanceof Error ? (error.stack ?? message) : message}`);
  return { code: grpc.status.INTERNAL, details: 'internal error' };
}

/** A unary handler with the edge around it. */
export function unary<Req, Res>(method: string, options: GrpcEdgeOptions, handle: (request: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const start = process.hrtime.bigint();
    const done = (failure: GrpcFailure | null, response?: Res) => {
      options.metrics?.observeGrpc(method, failure === null ? 'OK' : grpc.status[failure.code], Number(process.hrtime.bigint() - start) / 1e9);
      if (failure === null) callback(null, response);
      else callback({ code: failure.code, details: failure.details, metadata: failure.metadata ?? new grpc.Metadata() });
    };
    const refused = admit(call, options);
    if (refused !== undefined) return done(refused);
    handle(call.request).then(
      (response) => done(null, response),
      (error: unknown) => done(failureOf(error, method, options)),
    );
  };
}

function peerHost(peer: string): string {
  // "ipv4:127.0.0.1:5000" or "ipv6:[::1]:5000": the port changes per connection.
  return peer.replace(/:\d+$/, '');
}

/** Stops a server: in-flight calls get `graceMs` to finish, then connections are cut. */
export async function shutdownServer(server: grpc.Server, graceMs = 5_000): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Binds a server; resolves with the port bound (useful with port 0). */
export function bindServer(server: grpc.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });
}
