import { checkRange, parseCount, parseGranularity, parseInstant, parseNameList, parseOrder, requireString } from './query-params';

describe('query parameters', () => {
  it('reads instants as epoch ms or ISO-8601', () => {
    expect(parseInstant('from', '978307200000')).toBe(Date.UTC(2001, 0, 1));
    expect(parseInstant('from', 978307200000)).toBe(Date.UTC(2001, 0, 1));
    expect(parseInstant('from', '2001-01-01')).toBe(Date.UTC(2001, 0, 1));
    expect(parseInstant('from', '2001-01-01T01:30Z')).toBe(Date.UTC(2001, 0, 1, 1, 30));
    expect(parseInstant('from', '2001-01-01T02:30:00.000+01:00')).toBe(Date.UTC(2001, 0, 1, 1, 30));
  });

  it.each([['yesterday'], ['May 1 2001'], ['2001-13-01'], ['-5'], ['1e3'], [''], [undefined], [['1', '2']], [1.5]])('rejects %p naming the parameter', (raw) => {
    expect(() => parseInstant('from', raw)).toThrow(expect.objectContaining({ parameter: 'from' }));
  });

  it('checks ranges are half-open and non-empty', () => {
    expect(() => checkRange(10, 20)).not.toThrow();
    expect(() => checkRange(20, 20)).toThrow(expect.objectContaining({ parameter: 'to', message: expect.stringMatching(/must be after from/) }));
    expect(() => checkRange(-1, 20)).toThrow(expect.objectContaining({ parameter: 'from' }));
  });

  it('parses granularities, counts, lists and orders', () => {
    expect(parseGranularity('granularity', 'day')).toBe('day');
    expect(parseGranularity('granularity', '')).toBeUndefined();
    expect(() => parseGranularity('granularity', 'week')).toThrow(/granularity: "week" is not one of minute, hour, day/);
    expect(parseCount('n', '25', { min: 1, max: 100, fallback: 10 })).toBe(25);
    expect(parseCount('n', undefined, { min: 1, max: 100, fallback: 10 })).toBe(10);
    for (const bad of ['0', '101', '-1', '2.5', 'ten', ['1', '2']]) expect(() => parseCount('n', bad, { min: 1, max: 100, fallback: 10 })).toThrow(/^n: /);
    expect(parseNameList('aggregates', 'a, b,c')).toEqual(['a', 'b', 'c']);
    expect(parseNameList('aggregates', ['a', 'b,c'])).toEqual(['a', 'b', 'c']);
    expect(() => parseNameList('aggregates', 'a,,b')).toThrow(/^aggregates: /);
    expect(parseOrder('order', undefined)).toBe('desc');
    expect(() => parseOrder('order', 'up')).toThrow(/^order: /);
    expect(() => requireString('key', ['a', 'b'])).toThrow(/key: a list .* must be a single string/);
    expect(() => requireString('key', undefined)).toThrow('key: is required');
  });
});
