import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Logger } from '../shared/logger.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
/** Serialises concurrent migrators (several replicas starting at once) on one database. */
const MIGRATION_LOCK = 7_364_201;

/**
 * Applies `migrations/roles.sql` (idempotent, cluster-wide) and then every numbered migration not
 * yet recorded, each in its own transaction as `fleetgate_owner`, so the owner role owns every
 * object and the app role owns none. Runs with the administrative connection, never the app role.
 */
export async function migrate(adminUrl: string, log: Logger): Promise<string[]> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(await readFile(`${MIGRATIONS_DIR}roles.sql`, 'utf8'));
    // The owner creates objects in the public schema; nobody else may (Postgres 15 default).
    await client.query('GRANT USAGE, CREATE ON SCHEMA public TO fleetgate_owner');
    await client.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
    await client.query('SET ROLE fleetgate_owner');
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set((await client.query<{ version: string }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{4}_.+\.sql$/.test(f)).sort();
    for (const file of files) {
      const version = file.replace(/\.sql$/, '');
      if (done.has(version)) continue;
      const sql = await readFile(`${MIGRATIONS_DIR}${file}`, 'utf8');
      try {
        await client.query('BEGIN');
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        log.error({ err: error, migration: version }, 'migration failed');
        throw error;
      }
      log.info({ migration: version }, 'migration applied');
      applied.push(version);
    }
  } finally {
    await client.query('RESET ROLE').catch(() => undefined);
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await client.end();
  }
  return applied;
}

/** Sets the app role's password; used only when the gateway derives its own app URL (embedded default). */
export async function setAppRolePassword(adminUrl: string, password: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ sql: string }>("SELECT format('ALTER ROLE fleetgate_app PASSWORD %L', $1::text) AS sql", [
      password,
    ]);
    await client.query(rows[0]?.sql ?? '');
  } finally {
    await client.end();
  }
}
