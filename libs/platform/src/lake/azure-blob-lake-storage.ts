import type { ContainerClient } from '@azure/storage-blob';
import { TandemError } from '../errors/tandem-error';
import { assertLakePath, assertLakePrefix, LakeObjectNotFoundError, LakeStorageError, type LakeStorage } from './lake-storage';

// The Azure SDK is loaded when an Azure lake is first used, not with the module: the lake's
// readers (a scan worker above all) should not pay for it when the lake is a directory.
type AzureSdk = typeof import('@azure/storage-blob');
let azureSdk: AzureSdk | undefined;
const sdk = (): AzureSdk => (azureSdk ??= require('@azure/storage-blob') as AzureSdk);
const isRestError = (error: unknown): error is InstanceType<AzureSdk['RestError']> => error instanceof sdk().RestError;

export interface AzureBlobLakeOptions {
  /** A storage account connection string (account key or SAS); or pass `containerClient`. */
  readonly connectionString?: string;
  /** A container client built with any credential (e.g. a managed identity). */
  readonly containerClient?: ContainerClient;
  /** Container name; required with `connectionString`. */
  readonly container?: string;
  /** Folder inside the container that is the lake root, without a trailing '/'. */
  readonly prefix?: string;
  /** Creates the container on first use if it is missing (default true). */
  readonly createContainer?: boolean;
}

const CONTAINER = /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/;

/**
 * The lake in Azure Blob Storage or ADLS Gen2 (the Blob API works on both), one block blob
 * per object.
 *
 * A block blob becomes visible only when its block list is committed, as a whole, so `put`
 * is atomic; `create` adds the `If-None-Match: *` condition, so exactly one writer of a path
 * succeeds and the others get 409 BlobAlreadyExists.
 */
export class AzureBlobLakeStorage implements LakeStorage {
  readonly location: string;
  private readonly container: ContainerClient;
  private readonly prefix: string;
  private ready: Promise<void> | undefined;

  constructor(private readonly options: AzureBlobLakeOptions) {
    const problems: string[] = [];
    if (!options.containerClient && !options.connectionString) problems.push('azure lake: set connectionString or containerClient');
    if (!options.containerClient && options.container !== undefined && !CONTAINER.test(options.container)) {
      problems.push(`azure lake: container ${JSON.stringify(options.container)} is not a valid container name (3-63 of a-z, 0-9, '-')`);
    }
    if (!options.containerClient && options.container === undefined) problems.push('azure lake: container is required with connectionString');
    if (options.prefix !== undefined && options.prefix !== '') {
      try {
        assertLakePath(options.prefix);
      } catch {
        problems.push(`azure lake: prefix ${JSON.stringify(options.prefix)} must be a '/'-separated relative path without a trailing '/'`);
      }
    }
    if (problems.length > 0) throw new TandemError(problems.join('; '), false);
    this.container =
      options.containerClient ?? sdk().BlobServiceClient.fromConnectionString(options.connectionString!).getContainerClient(options.container!);
    this.prefix = options.prefix ? `${options.prefix}/` : '';
    this.location = `azure://${this.container.accountName}/${this.container.containerName}/${this.prefix}`;
  }

  async put(path: string, bytes: Uint8Array): Promise<void> {
    await this.call('put', path, () => this.blob(path).uploadData(bytes, { blobHTTPHeaders: { blobContentType: contentTypeOf(path) } }));
  }

  async create(path: string, bytes: Uint8Array): Promise<boolean> {
    try {
      await this.call('create', path, () =>
        this.blob(path).uploadData(bytes, { blobHTTPHeaders: { blobContentType: contentTypeOf(path) }, conditions: { ifNoneMatch: '*' } }),
      );
      return true;
    } catch (error) {
      const rest = (error as LakeStorageError).cause;
      if (isRestError(rest) && (rest.statusCode === 409 || rest.statusCode === 412)) return false;
      throw error;
    }
  }

  async get(path: string): Promise<Buffer> {
    return this.call('get', path, () => this.blob(path).downloadToBuffer());
  }

  async list(prefix: string): Promise<string[]> {
    assertLakePrefix(prefix);
    return this.call('list', prefix, async () => {
      const found: string[] = [];
      for await (const item of this.container.listBlobsFlat({ prefix: this.prefix + prefix })) {
        found.push(item.name.slice(this.prefix.length));
      }
      return found.sort();
    });
  }

  async exists(path: string): Promise<boolean> {
    return this.call('exists', path, () => this.blob(path).exists());
  }

  async delete(path: string): Promise<void> {
    await this.call('delete', path, () => this.blob(path).deleteIfExists());
  }

  private blob(path: string) {
    return this.container.getBlockBlobClient(this.prefix + assertLakePath(path));
  }

  private async call<T>(operation: string, path: string, run: () => Promise<T>): Promise<T> {
    try {
      await this.ensureContainer();
      return await run();
    } catch (error) {
      if (error instanceof TandemError) throw error;
      if (isRestError(error) && error.statusCode === 404 && operation === 'get') throw new LakeObjectNotFoundError(path, this.location);
      const status = isRestError(error) ? error.statusCode : undefined;
      // Throttling, timeouts and server errors pass; a bad request or a denied one does not.
      const retriable = status === undefined || status === 408 || status === 429 || status >= 500;
      const code = isRestError(error) && error.code ? ` (${error.code})` : '';
      throw new LakeStorageError(`lake ${operation} ${path} in ${this.location} failed${code}: ${(error as Error).message}`, retriable, { cause: error });
    }
  }

  private ensureContainer(): Promise<void> {
    if (this.options.createContainer === false) return Promise.resolve();
    if (!this.ready) {
      const creating = this.container.createIfNotExists().then(() => undefined);
      this.ready = creating;
      creating.catch(() => {
        if (this.ready === creating) this.ready = undefined;
      });
    }
    return this.ready;
  }
}

function contentTypeOf(path: string): string {
  if (path.endsWith('.parquet')) return 'application/vnd.apache.parquet';
  if (path.endsWith('.json')) return 'application/json';
  return 'application/octet-stream';
}
