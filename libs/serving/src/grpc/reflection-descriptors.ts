import type { PackageDefinition } from '@grpc/proto-loader';
import { FileDescriptorProto } from 'protobufjs/ext/descriptor';

/**
 * File descriptors for server reflection, with map entry types named as protoc names them.
 *
 * protobufjs (under @grpc/proto-loader) names the implicit entry type of `map<K, V> key` "Key"
 * where protoc names it "KeyEntry"; strict clients (grpcurl, anything on protobuf-go) then
 * refuse the whole file ("invalid map: incorrect implicit map entry name"). The descriptors
 * served by reflection are rewritten here; the package definition used to encode messages is
 * left alone (entry names never reach the wire).
 */
export function withProtocMapEntryNames(definition: PackageDefinition): PackageDefinition {
  const fixed = new Map<Buffer, Buffer>();
  const fix = (bytes: Buffer): Buffer => {
    let out = fixed.get(bytes);
    if (out === undefined) {
      out = renameMapEntries(bytes);
      fixed.set(bytes, out);
    }
    return out;
  };
  const copy: PackageDefinition = {};
  for (const [name, entry] of Object.entries(definition)) {
    const protos = (entry as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos;
    copy[name] = protos === undefined ? entry : ({ ...entry, fileDescriptorProtos: protos.map(fix) } as typeof entry);
  }
  return copy;
}

interface MessageDescriptor {
  name: string;
  field?: { name: string; label?: number | string; type?: number | string; typeName?: string }[];
  nestedType?: MessageDescriptor[];
  options?: { mapEntry?: boolean };
}

function renameMapEntries(bytes: Buffer): Buffer {
  const file = FileDescriptorProto.decode(bytes) as unknown as { messageType?: MessageDescriptor[] };
  for (const message of file.messageType ?? []) visit(message);
  return Buffer.from(FileDescriptorProto.encode(file as never).finish());
}

function visit(message: MessageDescriptor): void {
  const nested = new Map((message.nestedType ?? []).map((n) => [n.name, n]));
  for (const field of message.field ?? []) {
    if (!field.typeName) continue;
    const segments = field.typeName.split('.');
    const entry = nested.get(segments[segments.length - 1]);
    if (entry === undefined || entry.options?.mapEntry !== true) continue;
    const name = mapEntryName(field.name);
    entry.name = name;
    segments[segments.length - 1] = name;
    field.typeName = segments.join('.');
  }
  for (const n of message.nestedType ?? []) visit(n);
}

/** protoc's (and protobuf-go's) name of a map field's entry type: `data_map` -> `DataMapEntry`. */
export function mapEntryName(field: string): string {
  let out = '';
  let upper = true;
  for (const c of field) {
    if (c === '_') {
      upper = true;
    } else {
      out += upper ? c.toUpperCase() : c;
      upper = false;
    }
  }
  return `${out}Entry`;
}
