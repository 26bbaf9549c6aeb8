import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ContractViolationError } from '../errors';
import { BatchCompletedSchema } from './batch-completed';

/**
 * Control events coordinate the layers (batch tells speed and serving what it finished).
 * They share one topic with a single partition, so every reader sees them in one order.
 */
export const CONTROL_TOPIC = 'tandem.control';
export const CONTROL_TOPIC_PARTITIONS = 1;

/**
 * Every control event schema by its `type` discriminator. To add an event: define its
 * schema with `type: Type.Literal('<Name>')` in its own file and list it here.
 */
const CONTROL_EVENT_SCHEMAS = {
  BatchCompleted: BatchCompletedSchema,
} as const;

export type ControlEventType = keyof typeof CONTROL_EVENT_SCHEMAS;
export const CONTROL_EVENT_TYPES = Object.freeze(Object.keys(CONTROL_EVENT_SCHEMAS)) as readonly ControlEventType[];

export const ControlEventSchema = Type.Union(Object.values(CONTROL_EVENT_SCHEMAS));

export type ControlEvent = Static<(typeof CONTROL_EVENT_SCHEMAS)[ControlEventType]>;

// Checked per type rather than against the union, so errors name the fields of the event
// that was meant, not "expected union value".
const checkers = new Map<string, TypeCheck<TSchema>>(
  Object.entries(CONTROL_EVENT_SCHEMAS).map(([type, schema]) => [type, TypeCompiler.Compile(schema as TSchema)]),
);

function isControlEventType(type: unknown): type is ControlEventType {
  return typeof type === 'string' && Object.prototype.hasOwnProperty.call(CONTROL_EVENT_SCHEMAS, type);
}

function check(value: unknown, what: string): ControlEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ContractViolationError(`${what}: expected a JSON object`);
  }
  const type = (value as { type?: unknown }).type;
  if (!isControlEventType(type)) {
    throw new ContractViolationError(`${what}: type ${JSON.stringify(type)} is not one of ${CONTROL_EVENT_TYPES.join(', ')}`);
  }
  const checker = checkers.get(type)!;
  if (checker.Check(value)) return value as ControlEvent;
  const errors: string[] = [];
  for (const e of checker.Errors(value)) {
    errors.push(`${e.path || '/'}: ${e.message}`);
    if (errors.length >= 10) break;
  }
  throw new ContractViolationError(`${what}: invalid ${type}`, errors);
}

/** Validates and encodes a control event as UTF-8 JSON. */
export function encodeControlEvent(event: ControlEvent): Buffer {
  return Buffer.from(JSON.stringify(check(event, 'control event')), 'utf8');
}

/** Decodes and validates a control event; throws a ContractViolationError naming the fields. */
export function decodeControlEvent(bytes: Uint8Array | string): ControlEvent {
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ContractViolationError(`control event on ${CONTROL_TOPIC} is not JSON: ${(error as Error).message}`);
  }
  return check(value, `control event on ${CONTROL_TOPIC}`);
}
