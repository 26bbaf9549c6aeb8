import {
  DEAD_LETTER_AT_HEADER,
  DEAD_LETTER_DETAIL_HEADER,
  DEAD_LETTER_DETAIL_MAX_CHARS,
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_REASONS,
  DEAD_LETTER_SOURCE_OFFSET_HEADER,
  DEAD_LETTER_SOURCE_PARTITION_HEADER,
  DEAD_LETTER_SOURCE_TOPIC_HEADER,
  deadLetterHeaders,
  parseDeadLetterHeaders,
  type DeadLetterReason,
} from './dead-letter';

const AT = new Date('2024-03-01T12:00:00.000Z');

describe('dead-letter header names', () => {
  it('are the tandem-dlq-* names readers rely on', () => {
    expect([
      DEAD_LETTER_REASON_HEADER,
      DEAD_LETTER_DETAIL_HEADER,
      DEAD_LETTER_SOURCE_TOPIC_HEADER,
      DEAD_LETTER_SOURCE_PARTITION_HEADER,
      DEAD_LETTER_SOURCE_OFFSET_HEADER,
      DEAD_LETTER_AT_HEADER,
    ]).toEqual([
      'tandem-dlq-reason',
      'tandem-dlq-detail',
      'tandem-dlq-source-topic',
      'tandem-dlq-source-partition',
      'tandem-dlq-source-offset',
      'tandem-dlq-at',
    ]);
    expect(DEAD_LETTER_REASONS).toEqual(['malformed-json', 'schema-violation', 'oversized', 'unknown-stream', 'decode-error']);
  });
});

describe('deadLetterHeaders', () => {
  it('describes a record a consumer rejected, with its source position', () => {
    expect(
      deadLetterHeaders({
        reason: 'schema-violation',
        detail: '/status: Expected integer',
        topic: 'tandem.http_requests.v1',
        partition: 3,
        offset: 9_007_199_254_740_993n,
        at: AT,
      }),
    ).toEqual({
      'tandem-dlq-reason': 'schema-violation',
      'tandem-dlq-detail': '/status: Expected integer',
      'tandem-dlq-source-topic': 'tandem.http_requests.v1',
      'tandem-dlq-source-partition': '3',
      'tandem-dlq-source-offset': '9007199254740993',
      'tandem-dlq-at': '2024-03-01T12:00:00.000Z',
    });
  });

  it('omits the source position of an event rejected at ingest', () => {
    const headers = deadLetterHeaders({ reason: 'malformed-json', detail: 'Unexpected token', at: '2024-03-01T12:00:00Z' });
    expect(Object.keys(headers).sort()).toEqual(['tandem-dlq-at', 'tandem-dlq-detail', 'tandem-dlq-reason']);
    expect(headers['tandem-dlq-at']).toBe('2024-03-01T12:00:00.000Z');
  });

  it('cuts a long detail to a bounded size', () => {
    const headers = deadLetterHeaders({ reason: 'schema-violation', detail: 'x'.repeat(100_000), at: AT });
    expect(headers[DEAD_LETTER_DETAIL_HEADER]).toHaveLength(DEAD_LETTER_DETAIL_MAX_CHARS);
    expect(headers[DEAD_LETTER_DETAIL_HEADER].endsWith('…')).toBe(true);
  });

  it.each([
    ['an unknown reason', { reason: 'bad' as DeadLetterReason }, /reason "bad" is not one of malformed-json, /],
    ['an invalid date', { at: 'yesterday' }, /at yesterday is not a date/],
    ['a negative partition', { partition: -1 }, /partition -1 is not a non-negative integer/],
    ['a negative offset', { offset: -5 }, /offset -5 is not a non-negative integer/],
    ['a non-numeric offset', { offset: '12a' }, /offset 12a is not a non-negative integer/],
  ])('rejects %s', (_what, patch, message) => {
    expect(() => deadLetterHeaders({ reason: 'oversized', detail: '', at: AT, ...patch })).toThrow(message);
  });
});

describe('parseDeadLetterHeaders', () => {
  it('round-trips what deadLetterHeaders wrote, from Buffers as Kafka delivers them', () => {
    const written = deadLetterHeaders({
      reason: 'oversized', detail: '2000000 bytes', topic: 'tandem.flights.v1', partition: 0, offset: '42', at: AT,
    });
    const delivered = Object.fromEntries(Object.entries(written).map(([k, v]) => [k, Buffer.from(v)]));
    expect(parseDeadLetterHeaders(delivered)).toEqual({
      ok: true,
      value: {
        reason: 'oversized', detail: '2000000 bytes', topic: 'tandem.flights.v1', partition: 0, offset: '42', at: AT.toISOString(),
      },
    });
  });

  it('reads a record without source position', () => {
    const parsed = parseDeadLetterHeaders(deadLetterHeaders({ reason: 'unknown-stream', detail: 'no stream "x"', at: AT }));
    expect(parsed).toEqual({ ok: true, value: { reason: 'unknown-stream', detail: 'no stream "x"', at: AT.toISOString() } });
  });

  it('takes the last of repeated headers', () => {
    const parsed = parseDeadLetterHeaders({
      [DEAD_LETTER_REASON_HEADER]: ['oversized', Buffer.from('decode-error')],
      [DEAD_LETTER_AT_HEADER]: AT.toISOString(),
    });
    expect(parsed.ok && parsed.value.reason).toBe('decode-error');
  });

  it.each([
    ['no reason', {}, 'missing header tandem-dlq-reason'],
    ['an unknown reason', { [DEAD_LETTER_REASON_HEADER]: 'boom' }, 'header tandem-dlq-reason: "boom" is not one of'],
    ['no time', { [DEAD_LETTER_REASON_HEADER]: 'oversized' }, 'header tandem-dlq-at: missing'],
    ['a bad time', { [DEAD_LETTER_REASON_HEADER]: 'oversized', [DEAD_LETTER_AT_HEADER]: 'soon' }, 'header tandem-dlq-at: "soon" is not a date'],
    [
      'a bad partition',
      { [DEAD_LETTER_REASON_HEADER]: 'oversized', [DEAD_LETTER_AT_HEADER]: AT.toISOString(), [DEAD_LETTER_SOURCE_PARTITION_HEADER]: 'one' },
      'header tandem-dlq-source-partition: "one" is not a partition number',
    ],
    [
      'a bad offset',
      { [DEAD_LETTER_REASON_HEADER]: 'oversized', [DEAD_LETTER_AT_HEADER]: AT.toISOString(), [DEAD_LETTER_SOURCE_OFFSET_HEADER]: '-1' },
      'header tandem-dlq-source-offset: "-1" is not an offset',
    ],
  ])('reports %s without throwing', (_what, headers, error) => {
    const parsed = parseDeadLetterHeaders(headers);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain(error);
  });
});
