import { TandemError } from '../errors/tandem-error';

/**
 * The lake storage port: a flat namespace of immutable objects addressed by '/'-separated
 * paths relative to the lake root. The local filesystem implements it by default, Azure
 * Blob Storage / ADLS Gen2 in the cloud.
 *
 * Every write is all-or-nothing: a reader sees either no object or the complete one, never
 * a prefix, so a crash mid-write leaves nothing that looks like data.
 */
export interface LakeStorage {
  /** Where the lake lives, for logs and lineage (e.g. `file:///var/lake`, `azure://account/container/prefix`). */
  readonly location: string;
  /** Writes an object atomically, replacing any object at the same path. */
  put(path: string, bytes: Uint8Array): Promise<void>;
  /**
   * Writes an object atomically only if none exists at the path; resolves false (writing
   * nothing) if one does. The manifest is append-only through this.
   */
  create(path: string, bytes: Uint8Array): Promise<boolean>;
  /** Reads a whole object; rejects with LakeObjectNotFoundError if there is none. */
  get(path: string): Promise<Buffer>;
  /** Paths of the objects whose path starts with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
  exists(path: string): Promise<boolean>;
  /** Deletes an object; deleting a missing one is not an error. */
  delete(path: string): Promise<void>;
}

export class LakeObjectNotFoundError extends TandemError {
  override readonly name = 'LakeObjectNotFoundError';
  constructor(
    readonly path: string,
    location: string,
  ) {
    super(`lake object ${path} not found in ${location}`, false);
  }
}

/** A lake storage call failed for a reason that may pass (network, throttling, disk). */
export class LakeStorageError extends TandemError {
  override readonly name = 'LakeStorageError';
}

// Segments of the paths the lake writes: stream names, `date=YYYY-MM-DD`, file names.
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.=-]*$/;

/**
 * Checks a lake path: relative, '/'-separated, no empty, `.` or `..` segment and no
 * character that a filesystem or a blob URL treats specially. Returns it unchanged.
 */
export function assertLakePath(path: string): string {
  const segments = path.split('/');
  if (path.length === 0 || path.length > 1024 || segments.some((s) => !SEGMENT.test(s) || s === '.' || s === '..')) {
    throw new TandemError(`invalid lake path ${JSON.stringify(path)}: expected '/'-separated segments of [A-Za-z0-9_.=-]`, false);
  }
  return path;
}

/** Checks a listing prefix: a lake path, a path ending in '/', or '' for everything. */
export function assertLakePrefix(prefix: string): string {
  if (prefix === '') return prefix;
  assertLakePath(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  return prefix;
}
