import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { PROTO_LOADER_OPTIONS, protoPath } from '@tandem/contracts';
import { admit, bindServer, failureOf, type GrpcEdgeOptions, type GrpcFailure, shutdownServer, unary } from '@tandem/platform';
import { InvalidPublishError, LogUnavailableError, UnknownStreamError } from '../ingest-errors';
import type { IngestService } from '../ingest-service';
import type { EventResult, PublishResult } from '../publish-model';

/**
 * The Ingest service of ingest.proto over the same IngestService as REST, with server
 * reflection. PublishStream publishes each request as it arrives (a few at a time, pausing
 * the client beyond that) and answers once the client half-closes.
 */
export interface IngestGrpcServerOptions extends Omit<GrpcEdgeOptions, 'mapError'> {
  readonly ingest: IngestService;
  /** Largest request message, bytes (the gRPC counterpart of the REST body limit). */
  readonly maxMessageBytes: number;
  /** Most events in one PublishStream call. Default 1,000,000. */
  readonly maxEventsPerStream?: number;
}

interface PublishRequest {
  readonly stream: string;
  readonly events: string[];
}

interface ProtoEventResult {
  index: number;
  accepted: boolean;
  error_reason: string;
  error_detail: string;
  partition: number;
  offset: number;
}

/** Requests of one PublishStream call published at once; more pause the client. */
const STREAM_CONCURRENCY = 4;

export class IngestGrpcServer {
  private readonly server: grpc.Server;

  constructor(private readonly options: IngestGrpcServerOptions) {
    this.server = new grpc.Server({ 'grpc.max_receive_message_length': options.maxMessageBytes, 'grpc.enable_channelz': 0 });
    const definition = loadSync(protoPath('ingest'), { ...PROTO_LOADER_OPTIONS });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as { tandem: { v1: { Ingest: grpc.ServiceClientConstructor } } };
    const edge: GrpcEdgeOptions = { ...options, mapError: ingestFailureOf };
    this.server.addService(pkg.tandem.v1.Ingest.service, {
      Publish: unary('Publish', edge, async (r: PublishRequest) => response([await options.ingest.publishTexts(r.stream, r.events)])),
      PublishStream: this.publishStream(edge),
    });
    new ReflectionService(definition).addToServer(this.server);
  }

  async listen(port: number, host = '0.0.0.0'): Promise<number> {
    return bindServer(this.server, host, port);
  }

  close(graceMs?: number): Promise<void> {
    return shutdownServer(this.server, graceMs);
  }

  private publishStream(edge: GrpcEdgeOptions): grpc.handleClientStreamingCall<PublishRequest, unknown> {
    const maxEvents = this.options.maxEventsPerStream ?? 1_000_000;
    return (call, callback) => {
      const start = process.hrtime.bigint();
      let answered = false;
      const answer = (failure: GrpcFailure | null, value?: unknown) => {
        if (answered) return;
        answered = true;
        edge.metrics?.observeGrpc('PublishStream', failure === null ? 'OK' : grpc.status[failure.code], Number(process.hrtime.bigint() - start) / 1e9);
        if (failure === null) callback(null, value);
        else callback({ code: failure.code, details: failure.details, metadata: failure.metadata ?? new grpc.Metadata() });
      };
      const refused = admit(call, edge);
      if (refused !== undefined) {
        answer(refused);
        return;
      }
      const parts: Promise<PublishResult | EventResult[]>[] = [];
      let events = 0;
      let inFlight = 0;
      call.on('data', (request: PublishRequest) => {
        if (answered) return;
        const base = events;
        events += request.events.length;
        if (events > maxEvents) {
          answer({ code: grpc.status.RESOURCE_EXHAUSTED, details: `more than ${maxEvents} events in one PublishStream call` });
          return;
        }
        const part = this.publishPart(request, base);
        parts.push(part);
        if (++inFlight >= STREAM_CONCURRENCY) call.pause();
        part.finally(() => {
          if (--inFlight < STREAM_CONCURRENCY) call.resume();
        }).catch(() => undefined);
      });
      call.on('end', () => {
        Promise.all(parts).then(
          (done) => answer(null, response(done)),
          (error: unknown) => answer(failureOf(error, 'PublishStream', edge)),
        );
      });
      call.on('error', () => answer({ code: grpc.status.CANCELLED, details: 'the client cancelled the call' }));
    };
  }

  /** One request of a stream: published, or every event rejected when the stream is unknown. */
  private async publishPart(request: PublishRequest, base: number): Promise<PublishResult | EventResult[]> {
    if (request.events.length === 0) return [];
    try {
      const result = await this.options.ingest.publishTexts(request.stream, request.events);
      return { ...result, results: result.results.map((r) => ({ ...r, index: r.index + base })) };
    } catch (error) {
      // One unknown stream must not void the rest of the call: its events are rejected alone.
      if (error instanceof UnknownStreamError) {
        return request.events.map((_, i) => ({ index: base + i, accepted: false, reason: 'unknown-stream', detail: error.message }));
      }
      throw error;
    }
  }
}

function response(parts: readonly (PublishResult | EventResult[])[]) {
  const results: ProtoEventResult[] = [];
  for (const part of parts) {
    for (const r of Array.isArray(part) ? part : part.results) {
      results.push(
        r.accepted
          ? { index: r.index, accepted: true, error_reason: '', error_detail: '', partition: r.partition, offset: r.offset }
          : { index: r.index, accepted: false, error_reason: r.reason, error_detail: r.detail, partition: 0, offset: 0 },
      );
    }
  }
  const accepted = results.filter((r) => r.accepted).length;
  return { accepted, rejected: results.length - accepted, results };
}

function ingestFailureOf(error: unknown): GrpcFailure | undefined {
  if (error instanceof UnknownStreamError) return { code: grpc.status.NOT_FOUND, details: error.message };
  if (error instanceof InvalidPublishError) return { code: grpc.status.INVALID_ARGUMENT, details: error.message };
  if (error instanceof LogUnavailableError) {
    const metadata = new grpc.Metadata();
    metadata.set('retry-after', String(error.retryAfterSeconds));
    return { code: grpc.status.UNAVAILABLE, details: error.message, metadata };
  }
  return undefined;
}
