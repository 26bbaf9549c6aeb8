import * as path from 'node:path';

/**
 * The gRPC API is defined in `libs/contracts/proto/*.proto` (package `tandem.v1`); servers
 * and clients load those files at start-up with @grpc/proto-loader rather than generating
 * code, so the .proto stays the one definition.
 */
export const GRPC_PACKAGE = 'tandem.v1';

export const PROTO_FILES = Object.freeze({
  ingest: 'ingest.proto',
  query: 'query.proto',
});

export type ProtoName = keyof typeof PROTO_FILES;

/** Directory of the .proto files, for the loader's `includeDirs`. */
export const PROTO_DIR = path.resolve(__dirname, '..', '..', 'proto');

/** Absolute path of one .proto file. */
export function protoPath(name: ProtoName): string {
  const file = PROTO_FILES[name];
  if (file === undefined) {
    throw new Error(`unknown proto "${String(name)}"; known: ${Object.keys(PROTO_FILES).join(', ')}`);
  }
  return path.join(PROTO_DIR, file);
}

/**
 * Loader options every server and client uses, so both sides see the same shapes: field
 * names as written in the .proto, int64 as decimal strings (offsets exceed 2^53), enums as
 * their names, defaults filled in, and the set member of a oneof named.
 */
export const PROTO_LOADER_OPTIONS = Object.freeze({
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
});
