import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The release a run's start announced, when the cluster did not take it (older than the cluster's, or
 * with no readable version where the cluster's has one): the run is recorded on the cluster's release
 * (`release`), and this keeps what the orchestrator claimed, for an audit. NULL when it was taken as is.
 */
export class AnnouncedRelease1764200000000 implements MigrationInterface {
  name = 'AnnouncedRelease1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE transactions ADD COLUMN announced_release text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE transactions DROP COLUMN announced_release`);
  }
}
