import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A number for each release string a cluster ever ran (`release_id`, which fuel2 shows and Nailgun
 * served from its own releases table): given once, in the order releases first appear, and never
 * changed or reused, so that an id read today names the same release tomorrow, whatever releases
 * appear or stop being run meanwhile. A rank computed at read time would shift.
 *
 * Filled by triggers on `clusters`, so that every way a cluster's release is written (the writer's
 * registration, PUT /clusters/:id, SQL by hand) gets its id. They are statement triggers inserting the
 * new names in name order: two transactions bringing the same new releases insert them in the same
 * order, so they cannot wait for each other in a cycle. Names already known are filtered out first, so
 * the sequence only moves for a new name (ON CONFLICT alone would use up a number each time).
 */
export class Releases1764306000000 implements MigrationInterface {
  name = 'Releases1764306000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE releases (
        id          serial PRIMARY KEY,
        name        text NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT releases_name_uq UNIQUE (name)
      )`);
    await q.query(`INSERT INTO releases (name) SELECT release FROM clusters GROUP BY release ORDER BY min(created_at), release`);
    await q.query(`
      CREATE FUNCTION clusters_register_releases() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO releases (name)
        SELECT DISTINCT n.release FROM new_clusters n
        WHERE NOT EXISTS (SELECT 1 FROM releases r WHERE r.name = n.release)
        ORDER BY n.release
        ON CONFLICT (name) DO NOTHING;
        RETURN NULL;
      END $$`);
    // PostgreSQL takes a transition table on one event per trigger: one trigger for each.
    for (const event of ['INSERT', 'UPDATE']) {
      await q.query(
        `CREATE TRIGGER clusters_releases_${event.toLowerCase()} AFTER ${event} ON clusters
         REFERENCING NEW TABLE AS new_clusters FOR EACH STATEMENT EXECUTE FUNCTION clusters_register_releases()`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER clusters_releases_insert ON clusters`);
    await q.query(`DROP TRIGGER clusters_releases_update ON clusters`);
    await q.query(`DROP FUNCTION clusters_register_releases()`);
    await q.query(`DROP TABLE releases`);
  }
}
