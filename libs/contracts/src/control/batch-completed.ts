import { Type, type Static } from '@sinclair/typebox';

/** A Kafka offset or partition number as a canonical decimal string (int64 exceeds a JS number). */
const DECIMAL = '^(0|[1-9][0-9]*)$';
/** Kafka's legal topic characters and length. */
const TOPIC = '^[A-Za-z0-9._-]{1,249}$';
/** ISO-8601 instant with an explicit zone, as `Date.prototype.toISOString` writes it. */
const ISO_INSTANT = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$';

/** What one batch run wrote for one view. */
export const BatchViewResultSchema = Type.Object(
  {
    view: Type.String({ minLength: 1 }),
    transformVersion: Type.String({ minLength: 1 }),
    /** The batch view version made current by this run. */
    batchVersion: Type.Integer({ minimum: 0 }),
    rows: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

/**
 * The cut of a batch run: per topic, per partition, the first offset the batch did NOT
 * cover (`offset < cut` is in the batch). Serving reads realtime rows from there on.
 */
export const BatchCutSchema = Type.Record(
  Type.String({ pattern: TOPIC }),
  Type.Record(Type.String({ pattern: DECIMAL }), Type.String({ pattern: DECIMAL }), { additionalProperties: false }),
  { additionalProperties: false },
);

export type BatchCut = Static<typeof BatchCutSchema>;

/**
 * Published on the control topic after a batch run has flipped its views and cut in the
 * database, so speed (realtime rows below the cut may go) and serving (cached batch parts
 * of older versions are stale) react without polling.
 */
export const BatchCompletedSchema = Type.Object(
  {
    type: Type.Literal('BatchCompleted'),
    runId: Type.String({ minLength: 1, maxLength: 200 }),
    /** Run number g; cuts never move back from one generation to the next. */
    generation: Type.Integer({ minimum: 0 }),
    mode: Type.Union([Type.Literal('full'), Type.Literal('incremental')]),
    views: Type.Array(BatchViewResultSchema),
    cut: BatchCutSchema,
    completedAt: Type.String({ pattern: ISO_INSTANT }),
  },
  { additionalProperties: false },
);

export type BatchCompleted = Static<typeof BatchCompletedSchema>;
export type BatchViewResult = Static<typeof BatchViewResultSchema>;
