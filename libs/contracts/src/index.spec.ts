import * as contracts from './index';

// The public entry point (what `@tandem/contracts` resolves to).
describe('@tandem/contracts', () => {
  it('exposes streams, codecs, dead letters, control events and the gRPC definitions', () => {
    expect(Object.keys(contracts)).toEqual(
      expect.arrayContaining([
        'defineStream', 'topicOf', 'deadLetterTopicOf', 'decodeEvent', 'encodeEvent', 'ContractViolationError',
        'deadLetterHeaders', 'parseDeadLetterHeaders', 'DEAD_LETTER_REASONS',
        'httpRequests', 'parseApacheLogLine', 'flights', 'flightEventFromRow', 'FLIGHT_COLUMNS', 'streams', 'streamByName',
        'CONTROL_TOPIC', 'BatchCompletedSchema', 'encodeControlEvent', 'decodeControlEvent',
        'protoPath', 'PROTO_LOADER_OPTIONS', 'GRPC_PACKAGE',
      ]),
    );
  });

  it('decodes what it encodes for every registered stream name', () => {
    const flight = contracts.flightEventFromRow({ date: '2001-01-01 00:01', delay: 33, distance: 2176, origin: 'LAS', destination: 'PHL' });
    const decoded = contracts.decodeEvent(contracts.streamByName('flights'), contracts.encodeEvent(contracts.flights, flight));
    expect(decoded).toEqual({ ok: true, value: flight });
  });
});
