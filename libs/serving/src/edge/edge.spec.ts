import { BatchPartCache } from '../store/batch-part-cache';
import { ApiKeys } from '@tandem/platform';
import { FixedWindowLimiter } from '@tandem/platform';

describe('API keys', () => {
  it('is open without keys, and tells a missing key from a wrong one', () => {
    expect(new ApiKeys([]).check(undefined)).toBe('open');
    const keys = new ApiKeys(['k1', 'k2']);
    expect(keys.check(undefined)).toBe('missing');
    expect(keys.check('')).toBe('missing');
    expect(keys.check('k3')).toBe('rejected');
    expect(keys.check('k2')).toBe('accepted');
    expect(keys.check(['k1'])).toBe('missing');
  });
});

describe('fixed-window limiter', () => {
  it('allows `limit` requests per client per window and says when to retry', () => {
    let now = 10_000;
    const limiter = new FixedWindowLimiter({ limit: 2, windowMs: 1_000 }, () => now);
    expect([limiter.take('a'), limiter.take('a'), limiter.take('b')]).toEqual([0, 0, 0]);
    now += 400;
    expect(limiter.take('a')).toBe(600);
    now += 600;
    expect(limiter.take('a')).toBe(0);
    expect(new FixedWindowLimiter({ limit: 0, windowMs: 1 }).take('x')).toBe(0);
  });
});

describe('batch part cache', () => {
  it('evicts the least recently used part by entries and by weight', () => {
    const cache = new BatchPartCache<string>({ maxEntries: 2, maxWeight: 10 });
    cache.set('a', 'A', 4);
    cache.set('b', 'B', 4);
    expect(cache.get('a')).toBe('A');
    cache.set('c', 'C', 4); // evicts b: a was used more recently
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe('A');
    cache.set('d', 'D', 9); // too heavy with anything else
    expect(cache.stats()).toMatchObject({ entries: 1, weight: 9 });
    cache.set('e', 'E', 11); // heavier than the whole cache: not kept
    expect(cache.get('e')).toBeUndefined();
    expect(new BatchPartCache({ maxEntries: 0, maxWeight: 10 }).enabled).toBe(false);
  });
});
