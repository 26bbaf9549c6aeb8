import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Stored aggregate states become `json` (the text as written, checked to be JSON) instead of
 * `jsonb` (parsed into a binary tree on every write).
 *
 * States are written far more often than PostgreSQL looks inside them: the speed layer rewrites
 * a cell's row every transaction and the batch layer COPYs every cell of a version, while reads
 * either take the whole state (which `json` returns as stored, with no conversion back to
 * text) or one aggregate of it (`state -> 'name'`, which `json` answers by scanning the text).
 * Building jsonb was most of PostgreSQL's work in a batch run's COPY (docs/batch.md). Nothing
 * compares or indexes states in SQL: equality of states is decided by libs/transforms.
 *
 * Batch version tables are created by the batch layer with the type of their day; versions
 * written before this migration keep `jsonb` until retention drops them, and every read
 * works on both.
 */
export class StatesAsJson1700000600000 implements MigrationInterface {
  name = 'StatesAsJson1700000600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tandem_realtime ALTER COLUMN state TYPE json USING state::json`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tandem_realtime ALTER COLUMN state TYPE jsonb USING state::jsonb`);
  }
}
