// What the service edges (serving and ingest) share: API keys, rate limiting, HTTP and gRPC
// metrics, and the gRPC server plumbing.
export * from './api-keys';
export * from './edge-metrics';
export * from './fixed-window-limiter';
export * from './grpc-edge';
export * from './route-access';
export * from './api-key.guard';
export * from './edge-health.controller';
