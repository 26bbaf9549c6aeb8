/**
 * JSON text of encoded states written straight into bytes, the same characters as
 * `JSON.stringify(encode(state))`: both layers store that text for every cell, and building
 * the JSON value only to serialise it costs more than the aggregation itself. The built-in
 * aggregators write their constant parts (punctuation, property names, parameters) as
 * prepared text, integers digit by digit, and other numbers as `JSON.stringify` writes them;
 * the text leaves as one flat string.
 *
 * Only ASCII is written here. A state holding other characters (a top-k key, a record field
 * name) makes the writer give up, and `encodeText` falls back to `JSON.stringify`.
 */
export class JsonWriter {
  private bytes = Buffer.allocUnsafe(4096);
  private end = 0;
  private foreign = false;
  private busy = false;

  /**
   * Starts a new text; false, changing nothing, while another is being written (an
   * aggregator's `encode` that itself calls `encodeText`): that one then takes another way.
   */
  start(): boolean {
    if (this.busy) return false;
    this.busy = true;
    this.end = 0;
    this.foreign = false;
    return true;
  }

  /** Ends the text begun by `start` (after `text()`, or when writing failed). */
  finish(): void {
    this.busy = false;
  }

  /** Bytes written so far: a mark to `truncate` back to. */
  get position(): number {
    return this.end;
  }

  /** Drops what was written after `position` (a property whose value turned out to have no JSON form). */
  truncate(position: number): void {
    this.end = position;
  }

  /** Text written as is: JSON punctuation, property names, prepared constants. */
  raw(text: string): void {
    const n = text.length;
    if (this.end + n > this.bytes.length) this.grow(n);
    const bytes = this.bytes;
    let o = this.end;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c > 0x7f) this.foreign = true;
      bytes[o++] = c;
    }
    this.end = o;
  }

  /** A number as JSON.stringify writes it (NaN and the infinities as null). */
  number(x: unknown): void {
    if (typeof x === 'number' && (x | 0) === x) this.integer(x);
    else this.raw(numberText(x));
  }

  /** A 32-bit integer in decimal (-0 as 0, as JSON writes it). */
  private integer(x: number): void {
    if (this.end + 11 > this.bytes.length) this.grow(11);
    const bytes = this.bytes;
    let o = this.end;
    let v = x;
    if (v < 0) {
      bytes[o++] = 0x2d;
      v = -v;
    }
    if (v < 10) {
      bytes[o++] = 0x30 + v;
    } else {
      let digits = 1;
      for (let p = 10; p <= v; p *= 10) digits++;
      for (let i = o + digits - 1; i >= o; i--) {
        const q = Math.floor(v / 10);
        bytes[i] = 0x30 + (v - q * 10);
        v = q;
      }
      o += digits;
    }
    this.end = o;
  }

  /** `bytes[from, to)` of `source` in base64 (RFC 4648, with padding), as Buffer writes it. */
  base64(source: Uint8Array, from: number, to: number): void {
    const n = to - from;
    const size = 4 * Math.ceil(n / 3);
    if (this.end + size > this.bytes.length) this.grow(size);
    const bytes = this.bytes;
    let o = this.end;
    let i = from;
    for (; i + 3 <= to; i += 3) {
      const w = (source[i] << 16) | (source[i + 1] << 8) | source[i + 2];
      bytes[o] = BASE64[w >>> 18];
      bytes[o + 1] = BASE64[(w >>> 12) & 63];
      bytes[o + 2] = BASE64[(w >>> 6) & 63];
      bytes[o + 3] = BASE64[w & 63];
      o += 4;
    }
    if (to - i === 1) {
      const w = source[i] << 16;
      bytes[o] = BASE64[w >>> 18];
      bytes[o + 1] = BASE64[(w >>> 12) & 63];
      bytes[o + 2] = 0x3d;
      bytes[o + 3] = 0x3d;
      o += 4;
    } else if (to - i === 2) {
      const w = (source[i] << 16) | (source[i + 1] << 8);
      bytes[o] = BASE64[w >>> 18];
      bytes[o + 1] = BASE64[(w >>> 12) & 63];
      bytes[o + 2] = BASE64[(w >>> 6) & 63];
      bytes[o + 3] = 0x3d;
      o += 4;
    }
    this.end = o;
  }

  /**
   * The bytes written since `start` (a view of the writer's buffer, valid until the next
   * write); undefined when they held a character outside ASCII.
   */
  written(): Uint8Array | undefined {
    return this.foreign ? undefined : this.bytes.subarray(0, this.end);
  }

  /** The text written since `start`; undefined when it held a character outside ASCII. */
  text(): string | undefined {
    return this.foreign ? undefined : this.bytes.toString('latin1', 0, this.end);
  }

  private grow(extra: number): void {
    const bigger = Buffer.allocUnsafe(Math.max(2 * this.bytes.length, this.end + extra));
    this.bytes.copy(bigger, 0, 0, this.end);
    this.bytes = bigger;
  }
}

const BASE64 = Uint8Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', (c) => c.charCodeAt(0));

/**
 * A number as `JSON.stringify` writes it: a finite number in its shortest round-trip form
 * (the `Number#toString` JSON uses), NaN and the infinities as `null`; anything that is not a
 * number (only a corrupt decoded state holds one) through `JSON.stringify` itself.
 */
export function numberText(n: unknown): string {
  if (typeof n === 'number') return n - n === 0 ? `${n}` : 'null';
  return JSON.stringify(n) ?? 'null';
}

/**
 * The writer the aggregators share: encoding is synchronous, so one text is written at a
 * time (an aggregator writing its parts calls `writeJson`, never `encodeText`).
 */
export const jsonWriter = new JsonWriter();
