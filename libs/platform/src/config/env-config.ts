import { type Static, type TObject, type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ConfigError } from '../errors/tandem-error';

/**
 * Configuration by environment, validated at start-up (STYLE.md habit 7).
 *
 * A schema maps setting names (the environment variable names) to TypeBox types with
 * defaults. Values are converted from strings (numbers, booleans) and checked; every
 * problem is reported at once, naming the variable, so a misconfigured pod fails on its
 * first log line rather than at its first request.
 */
export function loadConfig<T extends TObject>(schema: T, env: NodeJS.ProcessEnv = process.env): Static<T> {
  const raw: Record<string, unknown> = {};
  for (const name of Object.keys(schema.properties)) {
    const v = env[name];
    if (v !== undefined && v !== '') raw[name] = v;
  }
  const withDefaults = Value.Default(schema, raw);
  const converted = Value.Convert(schema, withDefaults);
  const problems: string[] = [];
  for (const e of Value.Errors(schema, converted)) {
    const name = e.path.replace(/^\//, '') || '(root)';
    problems.push(`${name}: ${e.message}${name in raw ? ` (got ${JSON.stringify(raw[name])})` : ' (not set)'}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return converted as Static<T>;
}

/** Common setting types. */
export const Setting = {
  url: (description: string, def?: string) => Type.String({ minLength: 1, description, ...(def === undefined ? {} : { default: def }) }),
  port: (def: number, description = 'TCP port') => Type.Integer({ minimum: 0, maximum: 65535, default: def, description }),
  int: (def: number, min: number, max: number, description: string) => Type.Integer({ minimum: min, maximum: max, default: def, description }),
  bool: (def: boolean, description: string) => Type.Boolean({ default: def, description }),
  list: (description: string, def?: string) =>
    Type.String({ description, pattern: '^[^,]+(,[^,]+)*$', ...(def === undefined ? {} : { default: def }) }),
  optional: <S extends TSchema>(s: S) => Type.Optional(s),
};

/** Splits a comma-separated setting. */
export const splitList = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
