import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LakeManifest, partitionChain } from './lake-manifest';
import { LocalLakeStorage } from './local-lake-storage';
import { type ManifestEntry, ManifestError, parseManifestEntry, serializeManifestEntry } from './manifest-entry';
import { manifestEntryPath } from './lake-paths';

let seq = 0;
/** An entry of partition `p` that read [from, next) and archived first..last. */
function entry(p: number, from: number, first: number, last: number, next: number, rows = last - first + 1): ManifestEntry {
  seq++;
  return {
    stream: 'http_requests',
    streamVersion: 1,
    topic: 'tandem.http_requests.v1',
    partition: p,
    fromOffset: from,
    firstOffset: first,
    lastOffset: last,
    nextOffset: next,
    rows,
    skipped: rows === 0 ? next - from : 0,
    file: rows === 0 ? null : `http_requests/date=2015-05-17/http_requests-p${p}-${first}-${last}.parquet`,
    bytes: rows === 0 ? 0 : 100 + seq,
    sha256: rows === 0 ? null : seq.toString(16).padStart(64, '0'),
    recordsChecksum: '00000000000000ff',
    minLogTime: rows === 0 ? null : 1,
    maxLogTime: rows === 0 ? null : 2,
    minEventTime: rows === 0 ? null : 1,
    maxEventTime: rows === 0 ? null : 2,
    writtenAt: new Date(0).toISOString(),
  };
}

describe('manifest chain', () => {
  it('covers a partition from offset 0 through contiguous ranges', () => {
    const a = entry(0, 0, 0, 99, 100);
    const b = entry(0, 100, 100, 199, 200);
    const chain = partitionChain(0, [b, a]);
    expect(chain.entries).toEqual([a, b]);
    expect(chain.nextOffset).toBe(200);
  });

  it('bridges offsets the log does not have and skipped records by fromOffset/nextOffset', () => {
    // 100-101: transaction markers (never delivered); 150-151: records that failed the contract.
    const a = entry(0, 0, 0, 99, 100);
    const b = entry(0, 100, 102, 149, 152);
    const c = entry(0, 152, 153, 160, 161, 8); // 152 skipped at the start
    const d = entry(0, 161, 161, 161, 162, 0); // only a skipped record: no file
    const chain = partitionChain(0, [c, a, d, b]);
    expect(chain.entries).toEqual([a, b, c, d]);
    expect(chain.nextOffset).toBe(162);
  });

  it('stops at a hole: an entry that does not continue the chain is not covered', () => {
    const a = entry(0, 0, 0, 99, 100);
    const c = entry(0, 200, 200, 299, 300);
    const chain = partitionChain(0, [a, c]);
    expect(chain.entries).toEqual([a]);
    expect(chain.nextOffset).toBe(100);
    expect(chain.detached).toEqual([c]);
  });

  it('does not start without an entry from offset 0', () => {
    const chain = partitionChain(3, [entry(3, 10, 10, 20, 21)]);
    expect(chain.entries).toEqual([]);
    expect(chain.nextOffset).toBe(0);
  });

  it('takes, of two entries from the same offset, the path that reaches furthest, in any listing order', () => {
    const a = entry(0, 0, 0, 99, 100);
    const long = entry(0, 100, 100, 299, 300);
    const short = entry(0, 100, 100, 149, 150);
    const after = entry(0, 150, 150, 199, 200);
    for (const order of [
      [a, long, short, after],
      [after, short, long, a],
      [long, after, a, short],
    ]) {
      const chain = partitionChain(0, order);
      expect(chain.entries).toEqual([a, long]);
      expect(chain.superseded).toEqual([short]);
      expect(chain.detached).toEqual([after]);
      expect(chain.nextOffset).toBe(300);
    }
    // With equal reach, the entry that ends first.
    const tail = entry(0, 200, 200, 299, 300);
    expect(partitionChain(0, [a, long, short, after, tail]).entries).toEqual([a, short, after, tail]);
  });

  it('never moves the end of the chain back when an entry is added', () => {
    // A writer that lost the partition appends a late entry where the chain already went on.
    const owner = [entry(0, 0, 0, 99, 100), entry(0, 100, 100, 199, 200), entry(0, 200, 200, 299, 300)];
    const late = entry(0, 100, 100, 119, 120);
    const chain = partitionChain(0, [...owner, late]);
    expect(chain.entries).toEqual(owner);
    expect(chain.nextOffset).toBe(300);
    expect(chain.superseded).toEqual([late]);
  });
});

describe('LakeManifest on a lake', () => {
  let dir: string;
  let storage: LocalLakeStorage;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tandem-manifest-'));
    storage = new LocalLakeStorage(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('appends entries once, loads them sorted by (partition, firstOffset) and reports coverage', async () => {
    const manifest = new LakeManifest(storage);
    const entries = [entry(1, 0, 0, 9, 10), entry(0, 0, 0, 4, 5), entry(0, 5, 7, 9, 12), entry(1, 10, 10, 19, 20)];
    for (const e of entries) expect(await manifest.append(e)).toEqual({ written: true });
    // Append-only: the same path is never overwritten.
    const again = await manifest.append({ ...entries[0], writtenAt: new Date(1).toISOString() });
    expect(again).toEqual({ written: false, existing: entries[0] });

    const fresh = new LakeManifest(storage);
    expect(await fresh.load('http_requests')).toEqual([entries[1], entries[2], entries[0], entries[3]]);
    expect(await fresh.coveredUntil('http_requests')).toEqual(new Map([[0, 12], [1, 20]]));
    expect((await fresh.partition('http_requests', 1)).nextOffset).toBe(20);
    expect(await fresh.load('flights')).toEqual([]);
  });

  it('sees entries written by another process and forgets removed ones', async () => {
    const reader = new LakeManifest(storage);
    const writer = new LakeManifest(storage);
    const a = entry(0, 0, 0, 9, 10);
    await writer.append(a);
    expect(await reader.coveredUntil('http_requests')).toEqual(new Map([[0, 10]]));
    const b = entry(0, 10, 10, 19, 20);
    await writer.append(b);
    expect(await reader.coveredUntil('http_requests')).toEqual(new Map([[0, 20]]));
    await writer.remove(b);
    expect(await reader.coveredUntil('http_requests')).toEqual(new Map([[0, 10]]));
  });

  it('rejects a corrupt or inconsistent entry with the path in the message', async () => {
    const e = entry(0, 0, 0, 9, 10);
    const target = manifestEntryPath(e);
    await storage.put(target, Buffer.from('{"stream": '));
    await expect(new LakeManifest(storage).load('http_requests')).rejects.toThrow(new RegExp(`${target}.*not JSON`));
    expect(() => serializeManifestEntry({ ...e, nextOffset: 5 })).toThrow(ManifestError);
    expect(() => parseManifestEntry('x.json', Buffer.from(JSON.stringify({ ...e, rows: -1 })))).toThrow(/x\.json is invalid/);
  });
});
