import { flights } from '@tandem/contracts';
import { count, distinct, max, mean, min, quantile, sum } from '../index-aggregators';
import { defineView } from '../views/define-view';

/** Departures per origin airport per hour, with delay statistics. */
export const flightsPerOriginHour = defineView(flights, {
  name: 'flights_per_origin_hour',
  version: 1,
  description: 'Departures per origin airport per hour: count, delay mean/min/max/p95, distinct destinations',
  key: { origin: (e) => e.origin },
  granularity: 'hour',
  aggregates: {
    flights: count(),
    delay_mean: mean((e) => e.delay),
    delay_min: min((e) => e.delay),
    delay_max: max((e) => e.delay),
    delay_p95: quantile((e) => e.delay, 0.95, { relativeAccuracy: 0.01 }),
    destinations: distinct((e) => e.destination, { precision: 10 }),
  },
});

/** Flights per route (origin, destination) per day. */
export const flightsPerRouteDay = defineView(flights, {
  name: 'flights_per_route_day',
  version: 1,
  description: 'Flights per route per day: count, mean delay, total distance',
  key: { origin: (e) => e.origin, destination: (e) => e.destination },
  granularity: 'day',
  aggregates: {
    flights: count(),
    delay_mean: mean((e) => e.delay),
    distance: sum((e) => e.distance),
  },
});
