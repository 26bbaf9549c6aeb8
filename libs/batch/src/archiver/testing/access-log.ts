// Test data: the real Apache access log (data/apache-access-log/apache_logs) as http_requests
// events, produced to a topic through the log port, with a few records that fail the contract.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { encodeEvent, type HttpRequestEvent, httpRequests, parseApacheLogLine } from '@tandem/contracts';
import type { Log, ProduceMessage } from '@tandem/platform';

const ACCESS_LOG = path.resolve(__dirname, '../../../../../data/apache-access-log/apache_logs');

/** The events of the access log's lines that parse, in file order. */
export function accessLogEvents(limit = Infinity): HttpRequestEvent[] {
  const events: HttpRequestEvent[] = [];
  for (const line of readFileSync(ACCESS_LOG, 'utf8').split('\n')) {
    if (events.length >= limit) break;
    if (line.trim() === '') continue;
    const parsed = parseApacheLogLine(line);
    if (parsed.ok) events.push(parsed.event);
  }
  return events;
}

/** Records that are in the log but fail the http_requests contract (the speed layer dead-letters them). */
export const INVALID_RECORDS: readonly ProduceMessage[] = [
  { key: '10.0.0.1', value: '{"ts": 1, "ip": ' },
  { key: '10.0.0.2', value: JSON.stringify({ ts: 1, ip: '10.0.0.2', method: 'GET', path: '/', query: '', protocol: 'HTTP/1.1', status: 999, bytes: 0, referrer: '', userAgent: '' }) },
  { key: '10.0.0.3', value: Buffer.from([0xff, 0xfe, 0x00]) },
  { key: null, value: '[]' },
];

/**
 * Produces the events (keyed by client address, as ingest does) to `topic` in sends of
 * `chunk`, with the invalid records spread among them. Returns how many invalid ones it sent.
 */
export async function produceAccessLog(log: Log, topic: string, events: readonly HttpRequestEvent[], chunk = 500): Promise<number> {
  const producer = await log.producer();
  try {
    let invalid = 0;
    for (let i = 0; i < events.length; i += chunk) {
      const messages: ProduceMessage[] = events.slice(i, i + chunk).map((e) => ({ key: httpRequests.key(e), value: encodeEvent(httpRequests, e) }));
      const bad = INVALID_RECORDS[(i / chunk) % (INVALID_RECORDS.length + 3)];
      if (bad) {
        messages.splice(messages.length >> 1, 0, bad);
        invalid++;
      }
      await producer.send(topic, messages);
    }
    return invalid;
  } finally {
    await producer.close();
  }
}
