import { Type } from '@sinclair/typebox';
import { ContractViolationError } from '../errors';
import { httpRequests, type HttpRequestEvent } from '../streams/http-requests';
import { DEFAULT_MAX_EVENT_BYTES, decodeEvent, encodeEvent } from './codec';
import { defineStream } from './stream-contract';

const event: HttpRequestEvent = {
  ts: 1_431_857_103_000,
  ip: '83.149.9.216',
  method: 'GET',
  path: '/presentations/',
  query: 'q=é',
  protocol: 'HTTP/1.1',
  status: 200,
  bytes: 203_023,
  referrer: '',
  userAgent: 'Mozilla/5.0 "quoted"',
};

const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');

describe('encodeEvent / decodeEvent', () => {
  it('round-trips an event through UTF-8 JSON', () => {
    const bytes = encodeEvent(httpRequests, event);
    expect(bytes.toString('utf8')).toBe(JSON.stringify(event));
    expect(decodeEvent(httpRequests, bytes)).toEqual({ ok: true, value: event });
  });

  it('refuses to encode an event that breaks its contract', () => {
    const bad = { ...event, status: 700 };
    expect(() => encodeEvent(httpRequests, bad)).toThrow(ContractViolationError);
    expect(() => encodeEvent(httpRequests, bad)).toThrow(
      'event does not match http_requests v1: /status: Expected integer to be less or equal to 599',
    );
    try {
      encodeEvent(httpRequests, bad);
    } catch (error) {
      expect((error as ContractViolationError).retriable).toBe(false);
    }
  });
});

describe('decodeEvent failures', () => {
  it('reports malformed JSON', () => {
    const result = decodeEvent(httpRequests, Buffer.from('{"ts": 1,', 'utf8'));
    expect(result).toMatchObject({ ok: false, reason: 'malformed-json' });
    if (!result.ok) expect(result.detail.length).toBeGreaterThan(0);
  });

  it('reports a schema violation naming the fields', () => {
    const result = decodeEvent(httpRequests, json({ ...event, status: '200', bytes: -1 }));
    expect(result).toMatchObject({ ok: false, reason: 'schema-violation' });
    if (!result.ok) {
      expect(result.detail).toMatch(/^http_requests v1: /);
      expect(result.detail).toContain('/status: Expected integer');
      expect(result.detail).toContain('/bytes: Expected integer to be greater or equal to 0');
    }
  });

  it('reports a missing and an unexpected field', () => {
    const { ip: _ip, ...withoutIp } = event;
    const result = decodeEvent(httpRequests, json({ ...withoutIp, admin: true }));
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.detail).toContain('/ip: Expected required property');
      expect(result.detail).toContain('/admin: Unexpected property');
    }
  });

  it.each([['null'], ['[]'], ['"text"'], ['42']])('reports the JSON value %s as a schema violation', (text) => {
    expect(decodeEvent(httpRequests, Buffer.from(text))).toMatchObject({ ok: false, reason: 'schema-violation' });
  });

  it('rejects an oversized record before parsing it', () => {
    const bytes = json(event);
    expect(decodeEvent(httpRequests, bytes, { maxBytes: bytes.length })).toEqual({ ok: true, value: event });
    expect(decodeEvent(httpRequests, bytes, { maxBytes: bytes.length - 1 })).toEqual({
      ok: false,
      reason: 'oversized',
      detail: `${bytes.length} bytes exceeds the limit of ${bytes.length - 1} bytes`,
    });
    const huge = Buffer.alloc(DEFAULT_MAX_EVENT_BYTES + 1, 0x20);
    expect(decodeEvent(httpRequests, huge)).toMatchObject({ ok: false, reason: 'oversized' });
  });

  it('reports a tombstone and invalid UTF-8 as decode errors', () => {
    expect(decodeEvent(httpRequests, null)).toEqual({ ok: false, reason: 'decode-error', detail: 'record has no value (tombstone)' });
    const invalid = Buffer.concat([Buffer.from('{"ip":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    expect(decodeEvent(httpRequests, invalid)).toEqual({ ok: false, reason: 'decode-error', detail: 'value is not valid UTF-8' });
  });

  it('accepts a leading byte-order mark and a Uint8Array', () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json(event)]);
    expect(decodeEvent(httpRequests, bom)).toEqual({ ok: true, value: event });
    expect(decodeEvent(httpRequests, new Uint8Array(json(event)))).toEqual({ ok: true, value: event });
  });

  it('decodes integers up to 2^53 - 1 exactly and rejects a float where an integer is due', () => {
    const Counter = defineStream({
      name: 'counter', version: 1, key: () => 'k', eventTime: (e) => e.ts,
      schema: Type.Object({ ts: Type.Integer(), n: Type.Integer() }, { additionalProperties: false }),
    });
    expect(decodeEvent(Counter, Buffer.from('{"ts":1,"n":9007199254740991}'))).toEqual({ ok: true, value: { ts: 1, n: 9007199254740991 } });
    expect(decodeEvent(Counter, Buffer.from('{"ts":1,"n":1.5}'))).toMatchObject({ ok: false, reason: 'schema-violation' });
  });
});
