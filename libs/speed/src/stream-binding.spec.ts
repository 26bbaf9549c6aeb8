import { flightsPerOriginHour, flightsPerRouteDay, requestsPerStatusHour } from '@tandem/transforms';
import { bindStreams } from './stream-binding';

describe('bindStreams', () => {
  it('groups views by stream and prefixes topic names', () => {
    const bindings = bindStreams([flightsPerOriginHour, requestsPerStatusHour, flightsPerRouteDay], 'test_1.');
    expect(bindings.map((b) => [b.topic, b.deadLetterTopic, b.views.map((v) => v.name)])).toEqual([
      ['test_1.tandem.flights.v1', 'test_1.tandem.flights.dlq', ['flights_per_origin_hour', 'flights_per_route_day']],
      ['test_1.tandem.http_requests.v1', 'test_1.tandem.http_requests.dlq', ['requests_per_status_hour']],
    ]);
    expect(bindStreams([flightsPerRouteDay])[0].topic).toBe('tandem.flights.v1');
  });

  it('rejects no views and a view listed twice', () => {
    expect(() => bindStreams([])).toThrow(/at least one view/);
    expect(() => bindStreams([flightsPerRouteDay, flightsPerRouteDay])).toThrow(/listed twice/);
  });
});
