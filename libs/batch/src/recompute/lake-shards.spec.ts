import fc from 'fast-check';
import { ConfigError } from '@tandem/platform';
import { assignShards, filesOfShard, parseShard } from './lake-shards';

const files = fc.uniqueArray(fc.record({ file: fc.string({ minLength: 1, maxLength: 8 }), rows: fc.nat({ max: 10_000 }) }), {
  selector: (f) => f.file,
  maxLength: 40,
});

describe('assignShards', () => {
  it('puts every file in exactly one shard', () => {
    fc.assert(
      fc.property(files, fc.integer({ min: 1, max: 6 }), (fs, n) => {
        const shards = assignShards(fs, n);
        expect(shards).toHaveLength(n);
        const seen = shards.flat().map((f) => f.file).sort();
        expect(seen).toEqual(fs.map((f) => f.file).sort());
      }),
    );
  });

  it('does not depend on the order the files are listed in (independent pods agree)', () => {
    fc.assert(
      fc.property(files, fc.integer({ min: 1, max: 6 }), (fs, n) => {
        const a = assignShards(fs, n).map((s) => s.map((f) => f.file).sort());
        const b = assignShards([...fs].reverse(), n).map((s) => s.map((f) => f.file).sort());
        expect(b).toEqual(a);
      }),
    );
  });

  it('balances rows within the longest-processing-time bound', () => {
    const fs = Array.from({ length: 20 }, (_, i) => ({ file: `f${i}`, rows: 1000 + i * 37 }));
    const loads = assignShards(fs, 3).map((s) => s.reduce((sum, f) => sum + f.rows, 0));
    const total = fs.reduce((s, f) => s + f.rows, 0);
    expect(Math.max(...loads)).toBeLessThanOrEqual((4 / 3) * (total / 3) + Math.max(...fs.map((f) => f.rows)));
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(Math.max(...fs.map((f) => f.rows)));
  });

  it('serves one shard of a sharded run', () => {
    const fs = Array.from({ length: 7 }, (_, i) => ({ file: `f${i}`, rows: 10 }));
    const all = [0, 1, 2].flatMap((index) => filesOfShard(fs, { index, count: 3 }).map((f) => f.file));
    expect(all.sort()).toEqual(fs.map((f) => f.file));
  });
});

describe('parseShard', () => {
  it('parses i/n', () => {
    expect(parseShard('1/4')).toEqual({ index: 1, count: 4 });
    expect(parseShard(' 0 / 1 ')).toEqual({ index: 0, count: 1 });
  });

  it.each(['4/4', '1', '-1/2', 'a/b', '1/0'])('rejects %s with a configuration error', (text) => {
    expect(() => parseShard(text)).toThrow(ConfigError);
  });
});
