// @tandem/contracts: what the layers agree on. Schemas, topic names, codecs, control events
// and the gRPC definitions; no business logic and no infrastructure.
export * from './errors';
export * from './events';
export * from './streams';
export * from './control';
export * from './grpc';
