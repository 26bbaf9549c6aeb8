import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The tables every layer shares (DESIGN.md section 4).
 *
 * - tandem_settings: deployment-wide constants that every service must agree on (the offset
 *   chunk size); services refuse to start on a mismatch.
 * - tandem_realtime: speed-layer rows, one state per (view, transform version, key, bucket,
 *   partition, chunk). Keyed by log position so the batch cut can retire them exactly.
 * - tandem_speed_offsets: the next offset per (consumer, topic, partition), written in the
 *   same transaction as the rows it reflects.
 * - tandem_batch_current: per view, the batch version serving reads and its cut; flipped in
 *   one transaction with the cut (one row per view and transform version).
 * - tandem_batch_runs: one record per batch run, with lineage, timings and conformity.
 */
export class CoreSchema1700000000000 implements MigrationInterface {
  name = 'CoreSchema1700000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tandem_settings (
        name  text PRIMARY KEY,
        value text NOT NULL
      )`);
    await q.query(`
      CREATE TABLE tandem_realtime (
        view              text    NOT NULL,
        transform_version text    NOT NULL,
        key               text    NOT NULL,
        bucket            bigint  NOT NULL,
        partition         integer NOT NULL,
        chunk             bigint  NOT NULL,
        state             jsonb   NOT NULL,
        events            bigint  NOT NULL,
        PRIMARY KEY (view, transform_version, partition, chunk, bucket, key)
      )`);
    await q.query(`CREATE INDEX tandem_realtime_by_key ON tandem_realtime (view, transform_version, key, bucket)`);
    await q.query(`CREATE INDEX tandem_realtime_by_bucket ON tandem_realtime (view, transform_version, bucket)`);
    await q.query(`
      CREATE TABLE tandem_speed_offsets (
        consumer      text        NOT NULL,
        topic         text        NOT NULL,
        partition     integer     NOT NULL,
        next_offset   bigint      NOT NULL,
        last_log_time bigint,
        updated_at    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, topic, partition)
      )`);
    await q.query(`
      CREATE TABLE tandem_batch_current (
        view              text        NOT NULL PRIMARY KEY,
        transform_version text        NOT NULL,
        batch_version     bigint      NOT NULL,
        table_name        text        NOT NULL,
        topic             text        NOT NULL,
        cut               jsonb       NOT NULL,
        run_id            text        NOT NULL,
        flipped_at        timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE tandem_batch_runs (
        run_id       text        PRIMARY KEY,
        generation   bigint      NOT NULL,
        mode         text        NOT NULL CHECK (mode IN ('full', 'incremental')),
        status       text        NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
        started_at   timestamptz NOT NULL DEFAULT now(),
        finished_at  timestamptz,
        cut          jsonb,
        lineage      jsonb,
        conformity   jsonb,
        error        text
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['tandem_batch_runs', 'tandem_batch_current', 'tandem_speed_offsets', 'tandem_realtime', 'tandem_settings']) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
