import type { StreamContract } from '@tandem/contracts';
import { TandemError } from '../errors/tandem-error';

/**
 * The columns of a stream's lake files, derived from its contract's schema, so a new stream
 * needs no lake code.
 *
 * Every file starts with the log position and metadata of each record, then one typed
 * column per top-level field of the event, in schema order and under the field's own name:
 *
 * | JSON Schema of the field                    | Parquet column                         |
 * |---------------------------------------------|----------------------------------------|
 * | integer with minimum and maximum in int32   | INT32                                  |
 * | any other integer                           | INT64                                  |
 * | number                                      | DOUBLE                                 |
 * | string                                      | BYTE_ARRAY UTF8 (STRING)               |
 * | boolean                                     | BOOLEAN                                |
 * | anything else (object, array, union, ...)   | BYTE_ARRAY JSON (canonical JSON text)  |
 *
 * A field the schema does not require is an OPTIONAL column (null when absent); required
 * fields are REQUIRED columns.
 */
/** What the lake needs of a stream contract to lay out its files (any contract, whatever its event type). */
export type LakeStreamSchema = Pick<StreamContract, 'name' | 'schema'>;

export type LakeColumnType = 'INT32' | 'INT64' | 'DOUBLE' | 'STRING' | 'BOOLEAN' | 'JSON';

export interface LakeColumn {
  readonly name: string;
  readonly type: LakeColumnType;
  readonly nullable: boolean;
}

/** The log-position columns every lake file starts with. */
export const RECORD_COLUMNS: readonly LakeColumn[] = Object.freeze([
  { name: 'partition', type: 'INT32', nullable: false },
  { name: 'offset', type: 'INT64', nullable: false },
  { name: 'log_time', type: 'INT64', nullable: false },
  { name: 'key', type: 'STRING', nullable: true },
]);

export class LakeSchemaError extends TandemError {
  override readonly name = 'LakeSchemaError';
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

interface JsonSchemaLike {
  readonly type?: unknown;
  readonly minimum?: unknown;
  readonly maximum?: unknown;
  readonly exclusiveMinimum?: unknown;
  readonly exclusiveMaximum?: unknown;
  readonly properties?: Readonly<Record<string, JsonSchemaLike>>;
  readonly required?: readonly string[];
}

const cache = new WeakMap<object, readonly LakeColumn[]>();

/** The event columns of a stream (without the record columns). */
export function eventColumnsOf(contract: LakeStreamSchema): readonly LakeColumn[] {
  const cached = cache.get(contract.schema);
  if (cached) return cached;
  const schema = contract.schema as JsonSchemaLike;
  if (schema.type !== 'object' || schema.properties === undefined) {
    throw new LakeSchemaError(`stream ${contract.name}: the lake stores object events; the schema's type is ${JSON.stringify(schema.type)}`);
  }
  const required = new Set(schema.required ?? []);
  const reserved = new Set(RECORD_COLUMNS.map((c) => c.name));
  const columns = Object.entries(schema.properties).map(([name, field]): LakeColumn => {
    if (reserved.has(name)) {
      throw new LakeSchemaError(`stream ${contract.name}: field "${name}" collides with the lake's record column of that name`);
    }
    return { name, type: columnTypeOf(field), nullable: !required.has(name) };
  });
  const frozen = Object.freeze(columns);
  cache.set(contract.schema, frozen);
  return frozen;
}

/** All columns of a stream's lake files, in file order. */
export const lakeColumnsOf = (contract: LakeStreamSchema): readonly LakeColumn[] => [...RECORD_COLUMNS, ...eventColumnsOf(contract)];

function columnTypeOf(field: JsonSchemaLike): LakeColumnType {
  switch (field.type) {
    case 'integer':
      return fitsInt32(field) ? 'INT32' : 'INT64';
    case 'number':
      return 'DOUBLE';
    case 'string':
      return 'STRING';
    case 'boolean':
      return 'BOOLEAN';
    default:
      return 'JSON';
  }
}

function fitsInt32(field: JsonSchemaLike): boolean {
  const low = typeof field.minimum === 'number' ? field.minimum : typeof field.exclusiveMinimum === 'number' ? field.exclusiveMinimum : undefined;
  const high = typeof field.maximum === 'number' ? field.maximum : typeof field.exclusiveMaximum === 'number' ? field.exclusiveMaximum : undefined;
  return low !== undefined && high !== undefined && low >= INT32_MIN && high <= INT32_MAX;
}
