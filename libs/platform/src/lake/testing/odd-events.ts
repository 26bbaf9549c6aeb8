import { Type } from '@sinclair/typebox';
import { defineStream } from '@tandem/contracts';

/**
 * A test stream whose fields take every path a lake column can: integer, float, boolean, an
 * optional string, an array and a nested object (stored as canonical JSON).
 */
export const oddEvents = defineStream({
  name: 'odd_events',
  version: 1,
  schema: Type.Object({
    id: Type.Integer(),
    score: Type.Number(),
    ok: Type.Boolean(),
    note: Type.Optional(Type.String()),
    tags: Type.Array(Type.String()),
    extra: Type.Object({ b: Type.Integer(), a: Type.String() }),
  }),
  key: (e) => String(e.id),
  eventTime: (e) => e.id,
});
