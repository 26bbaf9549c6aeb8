import { loadSync } from '@grpc/proto-loader';
import { PROTO_LOADER_OPTIONS, protoPath } from '@tandem/contracts';
import { FileDescriptorProto } from 'protobufjs/ext/descriptor';
import { mapEntryName, withProtocMapEntryNames } from './reflection-descriptors';

type Message = { name: string; field: { name: string; typeName?: string }[]; nestedType: Message[] };

describe('reflection descriptors', () => {
  it('names map entries as protoc does', () => {
    expect(mapEntryName('key')).toBe('KeyEntry');
    expect(mapEntryName('data_map')).toBe('DataMapEntry');
  });

  it('rewrites every map entry of query.proto and the fields that use them', () => {
    const definition = withProtocMapEntryNames(loadSync(protoPath('query'), { ...PROTO_LOADER_OPTIONS }));
    const [bytes] = (definition['tandem.v1.TopNEntry'] as { fileDescriptorProtos: Buffer[] }).fileDescriptorProtos;
    const file = FileDescriptorProto.decode(bytes) as unknown as { messageType: Message[] };
    const entry = file.messageType.find((m) => m.name === 'TopNEntry')!;
    expect(entry.nestedType.map((n) => n.name).sort()).toEqual(['KeyEntry', 'ValuesEntry']);
    expect(entry.field.map((f) => f.typeName)).toEqual(['KeyEntry', 'ValuesEntry']);
    const request = file.messageType.find((m) => m.name === 'TimeSeriesRequest')!;
    expect(request.nestedType.map((n) => n.name)).toEqual(['KeyEntry']);
  });
});
