// @tandem/ingest: the ingest gateway. IngestService validates events against their stream
// contracts and appends them to the log; the HTTP (Nest) and gRPC adapters expose it.
export * from './publish-model';
export * from './ingest-errors';
export { IngestService, type IngestServiceOptions, type IngestObserver, type AnyStreamContract, DEFAULT_INGEST_MAX_EVENT_BYTES } from './ingest-service';
export { IngestMetrics } from './ingest-metrics';
export { startIngestEdge, type IngestEdge, type IngestEdgeOptions } from './ingest-app';
export { IngestHttpModule, type IngestHttpOptions } from './http/ingest-http.module';
export { IngestGrpcServer, type IngestGrpcServerOptions } from './grpc/ingest-grpc-server';
export { INGEST_SETTINGS, loadIngestConfig, type IngestConfig, type IngestSettings } from './ingest.config';
