import { flights } from './flights';
import { httpRequests } from './http-requests';
import { isStreamName, streamByName, streamNames, streams } from './registry';

describe('stream registry', () => {
  it('lists every stream under its own name', () => {
    expect(streamNames).toEqual(['http_requests', 'flights']);
    for (const [name, contract] of Object.entries(streams)) expect(contract.name).toBe(name);
    expect(Object.isFrozen(streams)).toBe(true);
  });

  it('gives each stream its own topic', () => {
    const topics = Object.values(streams).map((s) => s.topic);
    expect(topics).toEqual(['tandem.http_requests.v1', 'tandem.flights.v1']);
  });

  it('finds a stream by name', () => {
    expect(streamByName('http_requests')).toBe(httpRequests);
    expect(streamByName('flights')).toBe(flights);
    expect(isStreamName('flights')).toBe(true);
  });

  it('throws on an unknown name, listing the known streams', () => {
    expect(() => streamByName('click')).toThrow('unknown stream "click"; known streams: http_requests, flights');
  });

  it('does not mistake inherited object properties for streams', () => {
    for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      expect(isStreamName(name)).toBe(false);
      expect(() => streamByName(name)).toThrow(/unknown stream/);
    }
  });
});
