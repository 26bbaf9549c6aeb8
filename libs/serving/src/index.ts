// @tandem/serving: the serving layer. QueryService merges batch views with realtime rows and
// answers queries; the HTTP (Nest) and gRPC adapters expose it; apps and the quickstart compose them.
export * from './query/query-model';
export * from './query/query-errors';
export * from './query/query-params';
export { QueryService, type QueryServiceOptions, alignedRange, rankBy } from './query-service';
export type { CacheStats } from './store/batch-part-cache';
export { startServingEdge, type ServingEdge, type ServingEdgeOptions } from './serving-app';
export { ServingHttpModule, type ServingHttpOptions } from './http/serving-http.module';
export { QueryGrpcServer, type QueryGrpcServerOptions } from './grpc/query-grpc-server';
export { SERVING_SETTINGS, loadServingConfig, type ServingConfig, type ServingSettings } from './serving.config';
