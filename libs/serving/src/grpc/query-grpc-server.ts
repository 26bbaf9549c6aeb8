import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { PROTO_LOADER_OPTIONS, protoPath } from '@tandem/contracts';
import { bindServer, type GrpcEdgeOptions, type GrpcFailure, shutdownServer, unary } from '@tandem/platform';
import { QueryError } from '../query/query-errors';
import type { QueryService } from '../query-service';
import {
  listViewsResponse,
  timeSeriesQueryOf,
  timeSeriesResponse,
  type TimeSeriesRequest,
  topNQueryOf,
  topNResponse,
  type TopNRequest,
  valueQueryOf,
  valueResponse,
  type ValueRequest,
} from './query-grpc.mapper';
import { withProtocMapEntryNames } from './reflection-descriptors';

/**
 * The Query service of query.proto over the same QueryService as REST, with server
 * reflection so generic clients (grpcurl, Postman) can list and call it without the .proto.
 */
export interface QueryGrpcServerOptions extends Omit<GrpcEdgeOptions, 'mapError'> {
  readonly queries: QueryService;
}

export class QueryGrpcServer {
  private readonly server = new grpc.Server({ 'grpc.max_receive_message_length': 1024 * 1024, 'grpc.enable_channelz': 0 });
  private port: number | undefined;

  constructor(options: QueryGrpcServerOptions) {
    const definition = loadSync(protoPath('query'), { ...PROTO_LOADER_OPTIONS });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as { tandem: { v1: { Query: grpc.ServiceClientConstructor } } };
    const edge: GrpcEdgeOptions = { ...options, mapError: queryFailureOf };
    const q = options.queries;
    this.server.addService(pkg.tandem.v1.Query.service, {
      ListViews: unary('ListViews', edge, async () => listViewsResponse(await q.listViews())),
      TimeSeries: unary('TimeSeries', edge, async (r: TimeSeriesRequest) => timeSeriesResponse(await q.timeSeries(timeSeriesQueryOf(r)))),
      TopN: unary('TopN', edge, async (r: TopNRequest) => topNResponse(await q.topN(topNQueryOf(r)))),
      Value: unary('Value', edge, async (r: ValueRequest) => valueResponse(await q.value(valueQueryOf(r)))),
    });
    new ReflectionService(withProtocMapEntryNames(definition)).addToServer(this.server);
  }

  /** Listens on host:port (0 picks a free port); resolves with the port. */
  async listen(port: number, host = '0.0.0.0'): Promise<number> {
    this.port = await bindServer(this.server, host, port);
    return this.port;
  }

  get boundPort(): number | undefined {
    return this.port;
  }

  close(graceMs?: number): Promise<void> {
    return shutdownServer(this.server, graceMs);
  }
}

function queryFailureOf(error: unknown): GrpcFailure | undefined {
  if (error instanceof QueryError) return { code: error.code === 'not-found' ? grpc.status.NOT_FOUND : grpc.status.INVALID_ARGUMENT, details: error.message };
  return undefined;
}
