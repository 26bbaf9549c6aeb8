import { httpRequests } from '@tandem/contracts';
import { count, distinct, max, quantile, sum } from '../index-aggregators';
import { defineView } from '../views/define-view';

/** Traffic per URL path per minute: requests, bytes, distinct clients and p95 response size. */
export const requestsPerUrlMinute = defineView(httpRequests, {
  name: 'requests_per_url_minute',
  version: 1,
  description: 'Requests per URL path per minute',
  key: { url: (e) => e.path },
  granularity: 'minute',
  aggregates: {
    requests: count(),
    bytes: sum((e) => e.bytes),
    max_bytes: max((e) => e.bytes),
    clients: distinct((e) => e.ip, { precision: 12 }),
    p95_bytes: quantile((e) => e.bytes, 0.95, { relativeAccuracy: 0.01 }),
  },
});

/** Requests per HTTP status per hour. */
export const requestsPerStatusHour = defineView(httpRequests, {
  name: 'requests_per_status_hour',
  version: 1,
  description: 'Requests per HTTP status code per hour',
  key: { status: (e) => e.status },
  granularity: 'hour',
  aggregates: {
    requests: count(),
    bytes: sum((e) => e.bytes),
  },
});
