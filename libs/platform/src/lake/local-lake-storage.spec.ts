import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LakeObjectNotFoundError } from './lake-storage';
import { LocalLakeStorage } from './local-lake-storage';

describe('LocalLakeStorage', () => {
  let dir: string;
  let lake: LocalLakeStorage;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tandem-lake-'));
    lake = new LocalLakeStorage(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('puts, gets, lists by prefix, checks and deletes objects', async () => {
    await lake.put('s/date=2024-01-01/a.parquet', Buffer.from('a'));
    await lake.put('s/date=2024-01-02/b.parquet', Buffer.from('b'));
    await lake.put('_manifest/s/p0/x.json', Buffer.from('{}'));
    expect((await lake.get('s/date=2024-01-02/b.parquet')).toString()).toBe('b');
    expect(await lake.list('s/')).toEqual(['s/date=2024-01-01/a.parquet', 's/date=2024-01-02/b.parquet']);
    expect(await lake.list('s/date=2024-01-01')).toEqual(['s/date=2024-01-01/a.parquet']);
    expect(await lake.list('')).toEqual(['_manifest/s/p0/x.json', 's/date=2024-01-01/a.parquet', 's/date=2024-01-02/b.parquet']);
    expect(await lake.list('nothing/')).toEqual([]);
    expect(await lake.exists('s/date=2024-01-01/a.parquet')).toBe(true);
    await lake.delete('s/date=2024-01-01/a.parquet');
    await lake.delete('s/date=2024-01-01/a.parquet');
    expect(await lake.exists('s/date=2024-01-01/a.parquet')).toBe(false);
    await expect(lake.get('s/date=2024-01-01/a.parquet')).rejects.toBeInstanceOf(LakeObjectNotFoundError);
    expect(lake.location).toBe(`file://${dir}`);
  });

  it('rejects paths that could escape the lake or are not lake paths', async () => {
    for (const bad of ['../x', '/abs', 'a//b', 'a/./b', 'a/../b', '', 'a/b/', '.hidden', 'a b']) {
      await expect(lake.put(bad, Buffer.from('x'))).rejects.toThrow(/invalid lake path/);
    }
  });

  it('replaces an object atomically: concurrent readers see the old or the new bytes, never a mix', async () => {
    const a = randomBytes(4 * 1024 * 1024);
    const b = randomBytes(4 * 1024 * 1024);
    await lake.put('big.bin', a);
    let writing = true;
    const reads: Buffer[] = [];
    const reader = (async () => {
      while (writing) reads.push(await lake.get('big.bin'));
    })();
    for (let i = 0; i < 10; i++) await lake.put('big.bin', i % 2 === 0 ? b : a);
    writing = false;
    await reader;
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((r) => r.equals(a) || r.equals(b))).toBe(true);
    expect(readdirSync(dir)).toEqual(['big.bin']); // no temporary file left behind
  });

  it('creates an object only if absent: of concurrent creators exactly one wins', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => lake.create('m/entry.json', Buffer.from(`writer ${i}`))));
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect((await lake.get('m/entry.json')).toString()).toBe(`writer ${winner}`);
    expect(await lake.create('m/entry.json', Buffer.from('late'))).toBe(false);
    expect(readdirSync(path.join(dir, 'm'))).toEqual(['entry.json']);
  });

  it('never shows a crashed writer\'s temporary file as an object', async () => {
    // What a write interrupted by SIGKILL leaves: a hidden temporary file beside the target.
    await fs.mkdir(path.join(dir, 's'), { recursive: true });
    writeFileSync(path.join(dir, 's', '.f.parquet.123-abc.tmp'), 'partial');
    expect(await lake.list('')).toEqual([]);
    expect(await lake.exists('s/f.parquet')).toBe(false);
    await lake.put('s/f.parquet', Buffer.from('whole'));
    expect(await lake.list('s/')).toEqual(['s/f.parquet']);
  });
});
