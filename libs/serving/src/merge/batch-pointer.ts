import { type Cut, ImpossibleStateError } from '@tandem/platform';

/**
 * The current batch version of a view (a `tandem_batch_current` row): which table holds it
 * and the cut it covers. Parsing checks what the merge relies on and fails loudly
 * otherwise: a cut off a chunk boundary would split a realtime row between the layers.
 */
export interface BatchPointer {
  readonly view: string;
  readonly transformVersion: string;
  readonly batchVersion: number;
  /** Table holding the version: (key, bucket, state, events), immutable once current. */
  readonly tableName: string;
  readonly topic: string;
  /** Per partition, the first offset not covered; partitions absent are at 0. */
  readonly cut: Cut;
  readonly runId: string;
  /** ISO-8601. */
  readonly flippedAt: string;
}

/** The row as `row_to_json` gives it. */
export interface BatchPointerRow {
  readonly transform_version: unknown;
  readonly batch_version: unknown;
  readonly table_name: unknown;
  readonly topic: unknown;
  readonly cut: unknown;
  readonly run_id: unknown;
  readonly flipped_at: unknown;
}

// An unqualified or schema-qualified SQL identifier as the batch layer names its tables.
const TABLE_NAME = /^([A-Za-z_][A-Za-z0-9_$]{0,62}\.)?[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

export function parseBatchPointer(view: string, row: BatchPointerRow, chunkSize: number): BatchPointer {
  const bad = (what: string) => new ImpossibleStateError(`tandem_batch_current row of view "${view}": ${what}`);
  const text = (name: string, v: unknown): string => {
    if (typeof v !== 'string' || v === '') throw bad(`${name} ${JSON.stringify(v)} is not a non-empty string`);
    return v;
  };
  const tableName = text('table_name', row.table_name);
  if (!TABLE_NAME.test(tableName)) throw bad(`table_name ${JSON.stringify(tableName)} is not an SQL identifier`);
  const batchVersion = Number(row.batch_version);
  if (!Number.isSafeInteger(batchVersion) || batchVersion < 0) throw bad(`batch_version ${JSON.stringify(row.batch_version)} is not a version number`);
  const flipped = new Date(row.flipped_at as string);
  if (Number.isNaN(flipped.getTime())) throw bad(`flipped_at ${JSON.stringify(row.flipped_at)} is not a time`);
  return {
    view,
    transformVersion: text('transform_version', row.transform_version),
    batchVersion,
    tableName,
    topic: text('topic', row.topic),
    cut: parseCut(row.cut, chunkSize, bad),
    runId: text('run_id', row.run_id),
    flippedAt: flipped.toISOString(),
  };
}

function parseCut(raw: unknown, chunkSize: number, bad: (what: string) => Error): Cut {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad(`cut ${JSON.stringify(raw)} is not an object of partition -> offset`);
  const cut: Record<string, number> = {};
  for (const [partition, given] of Object.entries(raw as Record<string, unknown>)) {
    if (!/^(0|[1-9]\d{0,8})$/.test(partition)) throw bad(`cut names partition ${JSON.stringify(partition)}, not a partition number`);
    // Offsets are int64 in Kafka; a writer may store them as decimal text.
    const offset = typeof given === 'string' && /^\d{1,16}$/.test(given) ? Number(given) : given;
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) throw bad(`cut of partition ${partition} is ${JSON.stringify(offset)}, not an offset`);
    // A cut inside a chunk would leave that chunk's realtime row half covered by the batch:
    // merging it would count the covered part twice, dropping it would lose the rest.
    if (offset % chunkSize !== 0) {
      throw bad(`cut of partition ${partition} is ${offset}, not a multiple of the chunk size ${chunkSize}; the layers cannot be merged exactly`);
    }
    cut[partition] = offset;
  }
  return cut;
}

/** SQL text of a table name, each part double-quoted (the name was checked by parseBatchPointer). */
export function quoteTableName(tableName: string): string {
  return tableName
    .split('.')
    .map((part) => `"${part}"`)
    .join('.');
}
