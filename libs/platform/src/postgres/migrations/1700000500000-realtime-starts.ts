import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * tandem_realtime_starts: per view, transform version and partition, the first offset whose
 * events the speed layer counted into that transform version's realtime rows (the partition's
 * stored position at the first transaction that carried the view).
 *
 * Positions are per consumer group, not per view, so a transform version deployed into a
 * running group starts above offset 0 — possibly above the cut of its first batch run. The
 * batch layer reads this table to flip a new transform version only with a cut at or above
 * where its realtime rows begin (DESIGN.md section 6), never leaving offsets neither layer
 * holds.
 */
export class RealtimeStarts1700000500000 implements MigrationInterface {
  name = 'RealtimeStarts1700000500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tandem_realtime_starts (
        view              text        NOT NULL,
        transform_version text        NOT NULL,
        topic             text        NOT NULL,
        partition         integer     NOT NULL,
        start_offset      bigint      NOT NULL CHECK (start_offset >= 0),
        recorded_at       timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (view, transform_version, topic, partition)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE tandem_realtime_starts`);
  }
}
