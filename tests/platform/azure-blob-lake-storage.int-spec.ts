import { AzureBlobLakeStorage, LakeManifest, LakeObjectNotFoundError, ManifestEntry } from '@tandem/platform';
// The Azure Blob lake adapter against Azurite (Microsoft's Blob Storage emulator), started here.
import { randomBytes } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite, type AzuriteServer } from '@tandem/testkit';

jest.setTimeout(60_000);

describe('AzureBlobLakeStorage on Azurite', () => {
  let azurite: AzuriteServer;
  let container = 0;
  const lakeIn = (prefix?: string) =>
    new AzureBlobLakeStorage({ connectionString: azurite.connectionString, container: `lake-${Date.now().toString(36)}-${++container}`, prefix });

  beforeAll(async () => {
    azurite = await startAzurite();
  });
  afterAll(async () => {
    await azurite?.stop();
  });

  it('puts, gets, lists by prefix, checks and deletes blobs', async () => {
    const lake = lakeIn();
    const big = randomBytes(9 * 1024 * 1024); // several blocks: committed as one
    await lake.put('s/date=2024-01-01/a.parquet', Buffer.from('a'));
    await lake.put('s/date=2024-01-02/b.parquet', big);
    await lake.put('_manifest/s/p0/x.json', Buffer.from('{}'));
    expect((await lake.get('s/date=2024-01-02/b.parquet')).equals(big)).toBe(true);
    expect(await lake.list('s/')).toEqual(['s/date=2024-01-01/a.parquet', 's/date=2024-01-02/b.parquet']);
    expect(await lake.list('s/date=2024-01-01')).toEqual(['s/date=2024-01-01/a.parquet']);
    expect(await lake.list('')).toEqual(['_manifest/s/p0/x.json', 's/date=2024-01-01/a.parquet', 's/date=2024-01-02/b.parquet']);
    expect(await lake.exists('s/date=2024-01-01/a.parquet')).toBe(true);
    await lake.put('s/date=2024-01-01/a.parquet', Buffer.from('replaced'));
    expect((await lake.get('s/date=2024-01-01/a.parquet')).toString()).toBe('replaced');
    await lake.delete('s/date=2024-01-01/a.parquet');
    await lake.delete('s/date=2024-01-01/a.parquet');
    expect(await lake.exists('s/date=2024-01-01/a.parquet')).toBe(false);
    await expect(lake.get('s/date=2024-01-01/a.parquet')).rejects.toBeInstanceOf(LakeObjectNotFoundError);
  });

  it('creates a blob only if absent: of concurrent creators exactly one wins', async () => {
    const lake = lakeIn();
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => lake.create('m/entry.json', Buffer.from(`writer ${i}`))));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await lake.get('m/entry.json')).toString()).toBe(`writer ${results.indexOf(true)}`);
    expect(await lake.create('m/entry.json', Buffer.from('late'))).toBe(false);
  });

  it('keeps a lake under its prefix and sees nothing outside it', async () => {
    const lake = lakeIn('tenants/a');
    await lake.put('s/x.json', Buffer.from('1'));
    expect(lake.location).toMatch(/^azure:\/\/devstoreaccount1\/lake-[a-z0-9-]+\/tenants\/a\/$/);
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(lake.location.split('/')[3]);
    const names: string[] = [];
    for await (const blob of container.listBlobsFlat()) names.push(blob.name);
    expect(names).toEqual(['tenants/a/s/x.json']);
    expect(await lake.list('')).toEqual(['s/x.json']);
  });

  it('holds a manifest like the local lake does', async () => {
    const lake = lakeIn();
    const manifest = new LakeManifest(lake);
    const entry: ManifestEntry = {
      stream: 'http_requests',
      streamVersion: 1,
      topic: 'tandem.http_requests.v1',
      partition: 0,
      fromOffset: 0,
      firstOffset: 0,
      lastOffset: 9,
      nextOffset: 10,
      rows: 10,
      skipped: 0,
      file: 'http_requests/date=2015-05-17/http_requests-p0-00000000000000000000-00000000000000000009.parquet',
      bytes: 1,
      sha256: '0'.repeat(64),
      recordsChecksum: '0123456789abcdef',
      minLogTime: 1,
      maxLogTime: 2,
      minEventTime: 1,
      maxEventTime: 2,
      writtenAt: new Date().toISOString(),
    };
    expect(await manifest.append(entry)).toEqual({ written: true });
    expect(await manifest.append(entry)).toEqual({ written: false, existing: entry });
    expect(await new LakeManifest(lake).coveredUntil('http_requests')).toEqual(new Map([[0, 10]]));
  });

  it('names a bad container and missing credentials before any request', () => {
    expect(() => new AzureBlobLakeStorage({ connectionString: azurite.connectionString, container: 'Bad_Name' })).toThrow(/not a valid container name/);
    expect(() => new AzureBlobLakeStorage({ container: 'lake' })).toThrow(/connectionString or containerClient/);
  });
});
