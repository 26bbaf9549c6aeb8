import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * tandem_batch_versions: every batch view version a run has started to build, with its
 * relations.
 *
 * A version is read through `table_name`. A full version is a table of its own (`base_table`
 * = `table_name`, no delta). An incremental version is a view over a base table and a delta
 * table holding the cells changed since that base (`delta_table`), so an increment writes
 * what changed, not the whole view. The first relation is created together with the row here
 * (one transaction), and a version becomes visible to serving only when tandem_batch_current
 * points at it. A run killed half way leaves a row in status `building`: the next run drops
 * its relations. Retention drops versions older than the newest few, never the current one,
 * and a base table once no kept version reads it.
 */
export class BatchVersions1700000400000 implements MigrationInterface {
  name = 'BatchVersions1700000400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tandem_batch_versions (
        view              text        NOT NULL,
        batch_version     bigint      NOT NULL,
        transform_version text        NOT NULL,
        table_name        text        NOT NULL UNIQUE,
        base_table        text        NOT NULL,
        delta_table       text        UNIQUE,
        run_id            text        NOT NULL,
        mode              text        NOT NULL CHECK (mode IN ('full', 'incremental')),
        status            text        NOT NULL CHECK (status IN ('building', 'ready', 'dropped')),
        cut               jsonb       NOT NULL,
        rows              bigint,
        events            bigint,
        created_at        timestamptz NOT NULL DEFAULT now(),
        ready_at          timestamptz,
        dropped_at        timestamptz,
        PRIMARY KEY (view, batch_version)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS tandem_batch_versions`);
  }
}
