import { ContractViolationError } from '../errors';
import type { BatchCompleted } from './batch-completed';
import { CONTROL_EVENT_TYPES, CONTROL_TOPIC, CONTROL_TOPIC_PARTITIONS, decodeControlEvent, encodeControlEvent } from './control-event';

const completed: BatchCompleted = {
  type: 'BatchCompleted',
  runId: 'run-2024-03-01T12:00:00Z-7',
  generation: 7,
  mode: 'incremental',
  views: [
    { view: 'requests_by_path', transformVersion: 'v1-3f2a9c', batchVersion: 7, rows: 12_345 },
    { view: 'delay_by_origin', transformVersion: 'v2-91bb01', batchVersion: 3, rows: 0 },
  ],
  cut: {
    'tandem.http_requests.v1': { '0': '4096', '1': '0', '2': '9223372036854775807', '3': '8192' },
    'tandem.flights.v1': { '0': '1024' },
  },
  completedAt: '2024-03-01T12:00:05.123Z',
};

const decodeThrown = (value: unknown): ContractViolationError => {
  try {
    decodeControlEvent(typeof value === 'string' ? value : JSON.stringify(value));
  } catch (error) {
    return error as ContractViolationError;
  }
  throw new Error('expected decodeControlEvent to throw');
};

describe('control topic', () => {
  it('is tandem.control, one partition so every reader sees one order', () => {
    expect(CONTROL_TOPIC).toBe('tandem.control');
    expect(CONTROL_TOPIC_PARTITIONS).toBe(1);
    expect(CONTROL_EVENT_TYPES).toEqual(['BatchCompleted']);
  });
});

describe('BatchCompleted encode / decode', () => {
  it('round-trips through UTF-8 JSON, offsets beyond 2^53 intact', () => {
    const bytes = encodeControlEvent(completed);
    expect(JSON.parse(bytes.toString('utf8'))).toEqual(completed);
    expect(decodeControlEvent(bytes)).toEqual(completed);
    expect(decodeControlEvent(bytes.toString('utf8'))).toEqual(completed);
  });

  it('narrows on the discriminator', () => {
    const event = decodeControlEvent(encodeControlEvent(completed));
    if (event.type === 'BatchCompleted') expect(event.cut['tandem.flights.v1']['0']).toBe('1024');
  });

  it('accepts a full run with no views and an empty cut', () => {
    const first: BatchCompleted = { ...completed, mode: 'full', generation: 0, views: [], cut: {} };
    expect(decodeControlEvent(encodeControlEvent(first))).toEqual(first);
  });

  it('refuses to encode an invalid event', () => {
    expect(() => encodeControlEvent({ ...completed, generation: -1 })).toThrow(
      'control event: invalid BatchCompleted: /generation: Expected integer to be greater or equal to 0',
    );
  });

  it('names the fields of an invalid event', () => {
    const error = decodeThrown({
      ...completed,
      mode: 'partial',
      views: [{ view: 'v', transformVersion: 't', batchVersion: 1, rows: 2.5 }],
      completedAt: 'yesterday',
    });
    expect(error).toBeInstanceOf(ContractViolationError);
    expect(error.retriable).toBe(false);
    expect(error.message).toMatch(/^control event on tandem\.control: invalid BatchCompleted: /);
    expect(error.errors).toEqual(expect.arrayContaining(['/views/0/rows: Expected integer']));
    expect(error.errors.some((e) => e.startsWith('/mode:'))).toBe(true);
    expect(error.errors.some((e) => e.startsWith('/completedAt:'))).toBe(true);
  });

  it.each([
    ['a numeric offset', { t: { '0': 42 } }, '/cut/t/0: Expected string'],
    ['a negative offset', { t: { '0': '-1' } }, '/cut/t/0:'],
    ['an offset with leading zeros', { t: { '0': '0042' } }, '/cut/t/0:'],
    ['a partition that is not a number', { t: { p0: '1' } }, '/cut/t/p0: Unexpected property'],
    ['a topic with a space', { 'my topic': { '0': '1' } }, '/cut/my topic: Unexpected property'],
  ])('rejects a cut with %s', (_what, cut, error) => {
    expect(decodeThrown({ ...completed, cut }).errors.some((e) => e.startsWith(error))).toBe(true);
  });

  it('rejects an unexpected field', () => {
    expect(decodeThrown({ ...completed, extra: 1 }).errors).toContain('/extra: Unexpected property');
  });

  it.each([
    ['not JSON', '{type:', /^control event on tandem\.control is not JSON: /],
    ['not an object', '[1]', /expected a JSON object$/],
    ['null', 'null', /expected a JSON object$/],
    ['without a type', '{}', /type undefined is not one of BatchCompleted$/],
    ['of an unknown type', '{"type":"RealtimeCutAdvanced"}', /type "RealtimeCutAdvanced" is not one of BatchCompleted$/],
    ['with an inherited type name', '{"type":"toString"}', /type "toString" is not one of BatchCompleted$/],
  ])('rejects a value %s', (_what, text, message) => {
    expect(decodeThrown(text).message).toMatch(message);
  });
});
