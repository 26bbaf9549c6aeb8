import { Type } from '@sinclair/typebox';
import { deadLetterTopicOf, defineStream, topicOf } from './stream-contract';

const Click = Type.Object(
  {
    ts: Type.Integer({ minimum: 0 }),
    user: Type.String({ minLength: 1 }),
    page: Type.Object({ path: Type.String() }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);

const clicks = (overrides: Partial<Parameters<typeof defineStream<typeof Click>>[0]> = {}) =>
  defineStream({ name: 'clicks', version: 2, schema: Click, key: (e) => e.user, eventTime: (e) => e.ts, ...overrides });

describe('topic names', () => {
  it('puts accepted events in tandem.<stream>.v<N> and rejects in tandem.<stream>.dlq', () => {
    expect(topicOf('http_requests', 1)).toBe('tandem.http_requests.v1');
    expect(deadLetterTopicOf('http_requests')).toBe('tandem.http_requests.dlq');
    const c = clicks();
    expect(c.topic).toBe('tandem.clicks.v2');
    expect(c.deadLetterTopic).toBe('tandem.clicks.dlq');
  });

  it('shares one dead-letter topic across versions of a stream', () => {
    expect(clicks({ version: 3 }).deadLetterTopic).toBe(clicks({ version: 2 }).deadLetterTopic);
  });
});

describe('defineStream', () => {
  it('defaults to 4 partitions and keeps key and event time', () => {
    const c = clicks();
    const event = { ts: 1_000, user: 'u1', page: { path: '/' } };
    expect(c.partitions).toBe(4);
    expect(c.key(event)).toBe('u1');
    expect(c.eventTime(event)).toBe(1_000);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it.each([
    ['an upper-case name', { name: 'Clicks' }, /stream name "Clicks" must match/],
    ['a dashed name', { name: 'page-views' }, /stream name "page-views" must match/],
    ['a name starting with a digit', { name: '1clicks' }, /must match/],
    ['an empty name', { name: '' }, /must match/],
    ['a name longer than 63', { name: 'a'.repeat(64) }, /must match/],
    ['version 0', { version: 0 }, /version must be a positive integer, got 0/],
    ['a fractional version', { version: 1.5 }, /version must be a positive integer, got 1.5/],
    ['0 partitions', { partitions: 0 }, /partitions must be a positive integer, got 0/],
    ['fractional partitions', { partitions: 2.5 }, /partitions must be a positive integer, got 2.5/],
    ['NaN partitions', { partitions: Number.NaN }, /partitions must be a positive integer/],
  ])('rejects %s', (_what, overrides, message) => {
    expect(() => clicks(overrides)).toThrow(message);
  });
});

describe('validate', () => {
  const c = clicks();

  it('accepts a valid event and returns it', () => {
    const event = { ts: 5, user: 'u', page: { path: '/a' } };
    expect(c.validate(event)).toEqual({ ok: true, value: event });
  });

  it('names the field of a wrong type', () => {
    const result = c.validate({ ts: 'yesterday', user: 'u', page: { path: '/' } });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors).toContain('/ts: Expected integer');
  });

  it('names a nested field and a broken constraint', () => {
    const result = c.validate({ ts: -1, user: 'u', page: { path: 7 } });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors).toEqual(
        expect.arrayContaining(['/ts: Expected integer to be greater or equal to 0', '/page/path: Expected string']),
      );
    }
  });

  it('names a missing field and an unexpected one', () => {
    const result = c.validate({ ts: 1, page: { path: '/' }, extra: true });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors.some((e) => e.startsWith('/user:'))).toBe(true);
      expect(result.errors).toContain('/extra: Unexpected property');
    }
  });

  it('rejects a non-object without throwing', () => {
    for (const value of [null, undefined, 42, 'x', [1]]) {
      const result = c.validate(value);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.errors[0]).toMatch(/^\/: /);
    }
  });

  it('reports at most five errors', () => {
    const Wide = Type.Object(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`f${i}`, Type.Integer()])));
    const wide = defineStream({ name: 'wide', version: 1, schema: Wide, key: () => 'k', eventTime: () => 0 });
    const result = wide.validate({});
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors).toHaveLength(5);
  });
});
