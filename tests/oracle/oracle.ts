import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { type AnyView, ViewAccumulator } from '@tandem/transforms';
import type { AcceptedEvent } from './accepted-log';
import { EXACT_VIEWS, type ExactViewSql, TABLE_COLUMNS } from './oracle-views';

/** Offsets a served answer covers: per partition, every offset below the bound. */
export type PartitionBounds = ReadonlyMap<number, number>;

export interface ExpectedCell {
  readonly key: string;
  readonly bucket: number;
  /** Presented values by aggregate name. */
  readonly values: Record<string, unknown>;
}

const SKETCH_KINDS = new Set(['distinct', 'quantile', 'quantiles', 'topK', 'top-k', 'topk']);

/**
 * What every view must answer over a set of accepted events: exact aggregates from DuckDB,
 * sketch aggregates as the sketch of the union (the evaluator over the same events).
 * Optionally restricted to a prefix of each partition (what a served answer covers) and to
 * some keys.
 */
export class ViewOracle {
  private constructor(
    private readonly duck: DuckDBConnection,
    private readonly instance: DuckDBInstance,
    private readonly table: ExactViewSql['table'],
    readonly events: readonly AcceptedEvent[],
  ) {}

  static async create(table: ExactViewSql['table'], events: readonly AcceptedEvent[]): Promise<ViewOracle> {
    const instance = await DuckDBInstance.create(':memory:');
    const duck = await instance.connect();
    const columns = TABLE_COLUMNS[table];
    await duck.run(`CREATE TABLE ${table} (partition INTEGER, "offset" BIGINT, ${columns.map(([c, t]) => `"${c}" ${t}`).join(', ')})`);
    const appender = await duck.createAppender(table);
    for (const { partition, offset, event } of events) {
      appender.appendInteger(partition);
      appender.appendBigInt(BigInt(offset));
      for (const [column, type] of columns) {
        const v = event[column];
        if (v === null || v === undefined) appender.appendNull();
        else if (type === 'VARCHAR') appender.appendVarchar(String(v));
        else if (type === 'BIGINT') appender.appendBigInt(BigInt(v as number));
        else if (type === 'INTEGER') appender.appendInteger(v as number);
        else appender.appendDouble(v as number);
      }
      appender.endRow();
    }
    appender.flushSync();
    appender.closeSync();
    return new ViewOracle(duck, instance, table, events);
  }

  /** Distinct encoded keys of a view over all accepted events. */
  async keys(view: AnyView): Promise<string[]> {
    const sql = EXACT_VIEWS[view.name];
    const rows = (await this.duck.runAndReadAll(`SELECT DISTINCT ${sql.dimensions.map((d) => `"${d}"`).join(', ')} FROM ${this.table}`)).getRows();
    return rows.map((r) => encodeKey(r.map(String)));
  }

  /** Expected cells by `<bucket>|<key>`. */
  async expected(view: AnyView, options: { readonly bounds?: PartitionBounds; readonly keys?: readonly string[] } = {}): Promise<Map<string, ExpectedCell>> {
    const sql = EXACT_VIEWS[view.name];
    if (!sql || sql.table !== this.table) throw new Error(`no SQL restatement of view ${view.name} over ${this.table}`);
    const kinds = new Map(view.aggregates.map((a) => [a.name, a.kind]));
    for (const name of Object.keys(sql.aggregates)) if (!kinds.has(name)) throw new Error(`view ${view.name} has no aggregate ${name}`);
    for (const [name, kind] of kinds) {
      if (!(name in sql.aggregates) && !SKETCH_KINDS.has(kind)) throw new Error(`view ${view.name}: exact aggregate ${name} (${kind}) has no SQL restatement`);
    }
    const where: string[] = [];
    if (options.bounds) where.push(boundsPredicate(options.bounds));
    const keySet = options.keys ? new Set(options.keys) : undefined;
    const dims = sql.dimensions.map((d) => `"${d}"`).join(', ');
    const selects = Object.entries(sql.aggregates).map(([name, a]) =>
      'sql' in a ? `${a.sql} AS "${name}"` : `sum("${a.mean}") AS "${name}__sum", count("${a.mean}") AS "${name}__count"`,
    );
    const bucket = `("ts" - ((("ts" % ${sql.bucketMs}) + ${sql.bucketMs}) % ${sql.bucketMs}))`;
    const query = `SELECT ${dims}, ${bucket} AS bucket, ${selects.join(', ')} FROM ${this.table} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} GROUP BY ALL`;
    const rows = (await this.duck.runAndReadAll(query)).getRowObjectsJS();
    const cells = new Map<string, ExpectedCell>();
    for (const row of rows) {
      const key = encodeKey(sql.dimensions.map((d) => String(row[d])));
      if (keySet && !keySet.has(key)) continue;
      const bucketStart = Number(row['bucket']);
      const values: Record<string, unknown> = {};
      for (const [name, a] of Object.entries(sql.aggregates)) {
        if ('sql' in a) values[name] = row[name] === null ? null : Number(row[name]);
        else {
          const count = Number(row[`${name}__count`]);
          values[name] = count === 0 ? null : Number(row[`${name}__sum`]) / count;
        }
      }
      cells.set(cellKey(bucketStart, key), { key, bucket: bucketStart, values });
    }
    // Sketches: the evaluator over exactly the same events.
    const sketches = view.aggregates.filter((a) => SKETCH_KINDS.has(a.kind)).map((a) => a.name);
    if (sketches.length > 0) {
      const acc = new ViewAccumulator(view);
      for (const e of this.events) {
        if (options.bounds && !(e.offset < (options.bounds.get(e.partition) ?? 0))) continue;
        if (keySet && !keySet.has(view.keyOf(e.event))) continue;
        acc.add(e.event);
      }
      for (const c of acc.cells()) {
        const cell = cells.get(cellKey(c.bucket, c.key));
        if (!cell) throw new Error(`view ${view.name}: the evaluator has cell ${c.key}@${c.bucket} that DuckDB has not`);
        const presented = view.aggregator.present(c.state) as Record<string, unknown>;
        for (const name of sketches) cell.values[name] = presented[name];
      }
    }
    return cells;
  }

  close(): void {
    this.duck.closeSync();
    this.instance.closeSync();
  }
}

export const cellKey = (bucket: number, key: string) => `${bucket}|${key}`;

// One dimension: the raw value; several: a JSON array of strings (how the API addresses keys).
const encodeKey = (values: readonly string[]) => (values.length === 1 ? values[0] : JSON.stringify(values));

function boundsPredicate(bounds: PartitionBounds): string {
  const terms = [...bounds].filter(([, b]) => b > 0).map(([p, b]) => `(partition = ${Math.trunc(p)} AND "offset" < ${Math.trunc(b)})`);
  return terms.length === 0 ? 'FALSE' : `(${terms.join(' OR ')})`;
}
