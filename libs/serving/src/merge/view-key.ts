import type { AnyView } from '@tandem/transforms';
import { InvalidQueryError, truncate } from '../query/query-errors';
import type { KeyInput } from '../query/query-model';

/**
 * Keys of a view as callers name them. Stored rows hold the view's encoded key (the raw value
 * for one dimension, a JSON array for several: `View.encodeKey`); callers may give that
 * text, the dimension values in order, or a map from dimension name to value.
 */
export interface ResolvedKey {
  /** As stored in the `key` column. */
  readonly encoded: string;
  /** Dimension name -> value. */
  readonly dimensions: Readonly<Record<string, string>>;
}

/** Longer keys are refused before they reach the database. */
export const MAX_KEY_CHARS = 1024;

export function resolveKey(view: AnyView, input: KeyInput, parameter = 'key'): ResolvedKey {
  const dims = view.dimensions;
  let values: readonly string[];
  if (typeof input === 'string') {
    if (input === '') throw new InvalidQueryError(parameter, `is required (${describeKey(view)})`);
    if (dims.length === 1) {
      values = [input];
    } else {
      let parsed: unknown;
      try {
        parsed = JSON.parse(input);
      } catch {
        parsed = undefined;
      }
      if (!Array.isArray(parsed) || parsed.length !== dims.length || !parsed.every((v) => typeof v === 'string' || typeof v === 'number')) {
        throw new InvalidQueryError(parameter, `${truncate(JSON.stringify(input), 80)} is not ${describeKey(view)}`);
      }
      values = parsed.map(String);
    }
  } else if (Array.isArray(input)) {
    if (input.length !== dims.length || !input.every((v) => typeof v === 'string')) {
      throw new InvalidQueryError(parameter, `expected ${dims.length} string value(s): ${dims.join(', ')}`);
    }
    values = input as readonly string[];
  } else {
    const given = Object.keys(input);
    const missing = dims.filter((d) => !(d in input));
    const extra = given.filter((g) => !dims.includes(g));
    if (missing.length > 0 || extra.length > 0) {
      throw new InvalidQueryError(
        parameter,
        `must name exactly the dimensions ${dims.join(', ')}` +
          (missing.length > 0 ? `; missing ${missing.join(', ')}` : '') +
          (extra.length > 0 ? `; unknown ${extra.map((e) => truncate(e, 40)).join(', ')}` : ''),
      );
    }
    values = dims.map((d) => (input as Readonly<Record<string, string>>)[d]);
    if (!values.every((v) => typeof v === 'string')) throw new InvalidQueryError(parameter, 'dimension values must be strings');
  }
  for (const v of values) {
    // PostgreSQL text cannot hold NUL; refusing it here keeps it a 400, not a driver error.
    if (v.includes('\u0000')) throw new InvalidQueryError(parameter, 'must not contain the NUL character');
  }
  const encoded = view.encodeKey(values);
  if (encoded.length > MAX_KEY_CHARS) throw new InvalidQueryError(parameter, `is longer than ${MAX_KEY_CHARS} characters`);
  return { encoded, dimensions: Object.fromEntries(dims.map((d, i) => [d, values[i]])) };
}

/** Dimension name -> value of a stored key. */
export function keyDimensions(view: AnyView, encoded: string): Readonly<Record<string, string>> {
  const values = view.decodeKey(encoded);
  return Object.fromEntries(view.dimensions.map((d, i) => [d, values[i]]));
}

function describeKey(view: AnyView): string {
  return view.dimensions.length === 1
    ? `the value of dimension ${view.dimensions[0]}`
    : `a JSON array of ${view.dimensions.length} values (${view.dimensions.join(', ')}), e.g. ${JSON.stringify(view.dimensions.map((d) => `<${d}>`))}`;
}
