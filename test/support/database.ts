import { Client } from 'pg';
import { DATABASE_URL, uniqueName } from './services';

/** A fresh, empty database on the test server; dropped by `drop()`. */
export async function createTestDatabase(prefix = 'dh_test'): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = uniqueName(prefix).toLowerCase();
  const admin = new Client({ connectionString: DATABASE_URL });
  await admin.connect().catch((e) => {
    throw new Error(`PostgreSQL at ${DATABASE_URL} is needed for this test and did not answer: ${e.message}`);
  });
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const c = new Client({ connectionString: DATABASE_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
