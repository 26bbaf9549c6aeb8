import { Type, type Static } from '@sinclair/typebox';
import { defineStream } from '../events/stream-contract';

/**
 * RFC 9110 `token`: the characters a request method may use. Methods are case-sensitive
 * and extensible (WebDAV's PROPFIND, a crawler's lower-case `get`), so the contract accepts
 * any token rather than a fixed list.
 */
export const HTTP_METHOD_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$";

/** Apache's default LimitRequestLine / LimitRequestFieldSize are 8190 bytes. */
const MAX_FIELD = 8192;

/** One served HTTP request, as an access log records it. Flat, so every field is a dimension. */
export const HttpRequestEventSchema = Type.Object(
  {
    /** When the request was received, epoch milliseconds (UTC). */
    ts: Type.Integer({ minimum: 0 }),
    /** Remote host as logged (`%h`): an IPv4 or IPv6 address, or a name if lookups are on. */
    ip: Type.String({ minLength: 1, maxLength: 255 }),
    method: Type.String({ pattern: HTTP_METHOD_PATTERN }),
    /** Request target up to (not including) the first `?`, as sent: not percent-decoded. */
    path: Type.String({ minLength: 1, maxLength: MAX_FIELD }),
    /** Everything after the first `?`, without it; empty when the target has none. */
    query: Type.String({ maxLength: MAX_FIELD }),
    protocol: Type.String({ pattern: '^HTTP/\\d+(\\.\\d+)?$' }),
    status: Type.Integer({ minimum: 100, maximum: 599 }),
    /** Response body bytes; 0 when none were sent (Apache logs `-`). */
    bytes: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    /** Referer header; empty when absent. */
    referrer: Type.String({ maxLength: MAX_FIELD }),
    /** User-Agent header; empty when absent. */
    userAgent: Type.String({ maxLength: MAX_FIELD }),
  },
  { additionalProperties: false },
);

export type HttpRequestEvent = Static<typeof HttpRequestEventSchema>;

/**
 * Keyed by client address, so one client's requests stay in order on one partition and
 * per-client views (sessions, distinct paths) need no shuffle.
 */
export const httpRequests = defineStream({
  name: 'http_requests',
  version: 1,
  schema: HttpRequestEventSchema,
  key: (e) => e.ip,
  eventTime: (e) => e.ts,
  partitions: 4,
});
