import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { assertLakePath, assertLakePrefix, LakeObjectNotFoundError, LakeStorageError, type LakeStorage } from './lake-storage';

/**
 * The lake on a local (or mounted) filesystem: one file per object under `root`.
 *
 * Writes go to a hidden temporary file in the target directory, are fsync'd, then renamed
 * over the target (or hard-linked to it, for create-if-absent) and the directory is fsync'd:
 * POSIX rename and link are atomic, so after a crash the path holds either the old object,
 * no object, or the whole new one. Temporary files start with '.', which `list` never
 * returns (and no lake path may start with).
 */
export class LocalLakeStorage implements LakeStorage {
  readonly location: string;
  private readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.location = pathToFileURL(this.root).href;
  }

  async put(lakePath: string, bytes: Uint8Array): Promise<void> {
    const target = this.fileOf(lakePath);
    const temp = await this.writeTemp(target, bytes);
    try {
      await fs.rename(temp, target);
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw this.failure('put', lakePath, error);
    }
    await syncDirectory(path.dirname(target));
  }

  async create(lakePath: string, bytes: Uint8Array): Promise<boolean> {
    const target = this.fileOf(lakePath);
    const temp = await this.writeTemp(target, bytes);
    try {
      await fs.link(temp, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw this.failure('create', lakePath, error);
    } finally {
      await fs.rm(temp, { force: true });
    }
    await syncDirectory(path.dirname(target));
    return true;
  }

  async get(lakePath: string): Promise<Buffer> {
    try {
      return await fs.readFile(this.fileOf(lakePath));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new LakeObjectNotFoundError(lakePath, this.location);
      throw this.failure('get', lakePath, error);
    }
  }

  async list(prefix: string): Promise<string[]> {
    assertLakePrefix(prefix);
    // Walk only the deepest directory the prefix names, then filter by the full prefix.
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash);
    const found: string[] = [];
    await this.walk(base, found);
    return found.filter((p) => p.startsWith(prefix)).sort();
  }

  async exists(lakePath: string): Promise<boolean> {
    try {
      return (await fs.stat(this.fileOf(lakePath))).isFile();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw this.failure('stat', lakePath, error);
    }
  }

  async delete(lakePath: string): Promise<void> {
    try {
      await fs.rm(this.fileOf(lakePath), { force: true });
    } catch (error) {
      throw this.failure('delete', lakePath, error);
    }
  }

  private fileOf(lakePath: string): string {
    return path.join(this.root, ...assertLakePath(lakePath).split('/'));
  }

  private async writeTemp(target: string, bytes: Uint8Array): Promise<string> {
    const dir = path.dirname(target);
    const temp = path.join(dir, `.${path.basename(target)}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
    try {
      await fs.mkdir(dir, { recursive: true });
      const handle = await fs.open(temp, 'wx');
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return temp;
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw this.failure('write', path.relative(this.root, target), error);
    }
  }

  private async walk(relative: string, found: string[]): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(path.join(this.root, relative), { withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw this.failure('list', relative, error);
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) await this.walk(child, found);
      else if (entry.isFile()) found.push(child);
    }
  }

  private failure(operation: string, lakePath: string, error: unknown): LakeStorageError {
    const code = (error as NodeJS.ErrnoException).code;
    // A full disk or a busy file may pass; a permission problem will not.
    const retriable = code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS';
    return new LakeStorageError(`lake ${operation} ${lakePath} in ${this.location} failed: ${(error as Error).message}`, retriable, { cause: error });
  }
}

/** Makes a rename or link in `dir` durable (the directory entry itself must reach the disk). */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
