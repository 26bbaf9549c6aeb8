import { promises as fs } from 'node:fs';
import { crc32 } from 'node:zlib';
import { TandemError } from '../errors/tandem-error';

/** A record as stored; its offset is its position in the segment. */
export interface StoredRecord {
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * An append-only segment file holding one partition's records, in offset order.
 *
 * Frame: u32 body length | u32 CRC-32 of the body | body, where the body is
 *   f64 timestamp | i32 key length (-1: null) | key | i32 value length (-1: null) | value |
 *   u16 header count | per header: u16 name length | name | u32 value length | value
 * (big-endian, UTF-8 header names and values).
 *
 * Appends are fsync'd before they resolve. A crash can leave a torn last frame; opening the
 * file finds it by length or CRC and cuts it off, like Kafka's log recovery truncates the
 * active segment at the first invalid batch.
 */
export class SegmentFile {
  private constructor(
    private handle: fs.FileHandle | undefined,
    private size: number,
    private readonly file: string,
    private readonly fsync: boolean,
  ) {}

  /** Opens (creating if needed) a segment and returns its valid records. */
  static async open(file: string, options: { fsync: boolean; onTruncate?: (validBytes: number, fileBytes: number) => void }): Promise<{ segment: SegmentFile; records: StoredRecord[] }> {
    const handle = await fs.open(file, 'a+');
    try {
      const bytes = await handle.readFile();
      const { records, validBytes } = decodeFrames(bytes);
      if (validBytes < bytes.length) {
        options.onTruncate?.(validBytes, bytes.length);
        await handle.truncate(validBytes);
        await handle.sync();
      }
      return { segment: new SegmentFile(handle, validBytes, file, options.fsync), records };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Appends records and makes them durable. */
  async append(records: readonly StoredRecord[]): Promise<void> {
    if (!this.handle) throw new TandemError(`segment ${this.file} is closed`, false);
    const frames = Buffer.concat(records.map(encodeFrame));
    // 'a+' opens in append mode: every write lands at the end whatever the position.
    await this.handle.write(frames, 0, frames.length);
    if (this.fsync) await this.handle.datasync();
    this.size += frames.length;
  }

  get bytes(): number {
    return this.size;
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }
}

const FRAME_HEADER = 8;

export function encodeFrame(record: StoredRecord): Buffer {
  const headers = Object.entries(record.headers).map(([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const);
  if (headers.length > 0xffff) throw new TandemError(`a record may carry at most 65535 headers, got ${headers.length}`, false);
  let bodyLength = 8 + 4 + (record.key?.length ?? 0) + 4 + (record.value?.length ?? 0) + 2;
  for (const [k, v] of headers) {
    if (k.length > 0xffff) throw new TandemError(`header name longer than 65535 bytes`, false);
    bodyLength += 2 + k.length + 4 + v.length;
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER + bodyLength);
  let at = FRAME_HEADER;
  at = frame.writeDoubleBE(record.timestamp, at);
  at = writeBytes(frame, at, record.key);
  at = writeBytes(frame, at, record.value);
  at = frame.writeUInt16BE(headers.length, at);
  for (const [k, v] of headers) {
    at = frame.writeUInt16BE(k.length, at);
    at += k.copy(frame, at);
    at = frame.writeUInt32BE(v.length, at);
    at += v.copy(frame, at);
  }
  frame.writeUInt32BE(bodyLength, 0);
  frame.writeUInt32BE(crc32(frame.subarray(FRAME_HEADER)), 4);
  return frame;
}

/** Decodes whole, intact frames from the start of `bytes`; stops at the first torn or corrupt one. */
export function decodeFrames(bytes: Buffer): { records: StoredRecord[]; validBytes: number } {
  const records: StoredRecord[] = [];
  let at = 0;
  while (at + FRAME_HEADER <= bytes.length) {
    const bodyLength = bytes.readUInt32BE(at);
    const end = at + FRAME_HEADER + bodyLength;
    if (end > bytes.length) break;
    const body = bytes.subarray(at + FRAME_HEADER, end);
    if (crc32(body) !== bytes.readUInt32BE(at + 4)) break;
    const record = decodeBody(body);
    if (!record) break;
    records.push(record);
    at = end;
  }
  return { records, validBytes: at };
}

function decodeBody(body: Buffer): StoredRecord | undefined {
  try {
    let at = 0;
    const timestamp = body.readDoubleBE(at);
    at += 8;
    const key = readBytes(body, at);
    at = key.next;
    const value = readBytes(body, at);
    at = value.next;
    const count = body.readUInt16BE(at);
    at += 2;
    const headers: Record<string, string> = {};
    for (let i = 0; i < count; i++) {
      const kl = body.readUInt16BE(at);
      at += 2;
      const k = body.toString('utf8', at, at + kl);
      at += kl;
      const vl = body.readUInt32BE(at);
      at += 4;
      headers[k] = body.toString('utf8', at, at + vl);
      at += vl;
    }
    return at === body.length ? { timestamp, key: key.bytes, value: value.bytes, headers } : undefined;
  } catch {
    return undefined;
  }
}

function writeBytes(frame: Buffer, at: number, bytes: Buffer | null): number {
  if (bytes === null) return frame.writeInt32BE(-1, at);
  at = frame.writeInt32BE(bytes.length, at);
  return at + bytes.copy(frame, at);
}

function readBytes(body: Buffer, at: number): { bytes: Buffer | null; next: number } {
  const length = body.readInt32BE(at);
  at += 4;
  if (length < 0) return { bytes: null, next: at };
  if (at + length > body.length) throw new RangeError('field beyond the frame');
  // Copy: the file's buffer must not be kept alive by slices of it.
  return { bytes: Buffer.from(body.subarray(at, at + length)), next: at + length };
}
