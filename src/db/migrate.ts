import { access, readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Logger } from '../shared/logger.ts';
import { DEFAULT_REGION } from './regions.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
/** One file per domain holding the current body of each SQL function and procedure (migrations/README.md). */
const FUNCTIONS_DIR = `${MIGRATIONS_DIR}functions/`;
/** The schema as the numbered files leave it, for a database with none recorded (generated, see schema-dump.ts). */
const BASELINE_FILE = `${MIGRATIONS_DIR}baseline.sql`;

/** The versions of the numbered migrations, in order (`0001_data_plane`, …). */
export async function numberedVersions(): Promise<string[]> {
  return (await readdir(MIGRATIONS_DIR))
    .filter((f) => /^\d{4}_.+\.sql$/.test(f))
    .sort()
    .map((f) => f.replace(/\.sql$/, ''));
}
/** Serialises concurrent migrators (several replicas starting at once) on one database. */
const MIGRATION_LOCK = 7_364_201;

/**
 * Applies `migrations/roles.sql` (idempotent, cluster-wide); then, to a database with no migration
 * recorded, `migrations/baseline.sql` (the schema the numbered files make, recording their
 * versions); then every numbered migration not yet recorded, each in its own transaction; then the
 * current body of every SQL function from `migrations/functions/` (re-applied on every run, see
 * applyFunctions). All as `fleetgate_owner`, so the owner role owns every object and the app role
 * owns none. Runs with the administrative connection, never the app role. migrations/README.md.
 */
export async function migrate(adminUrl: string, log: Logger, options: MigrateOptions = {}): Promise<string[]> {
  return (await migrateWithReport(adminUrl, log, options)).applied;
}

export interface MigrateOptions {
  /**
   * The region this database serves (default eu-1). The first run records it in the database
   * (migrations/0016_regions.sql); a later run naming another region is refused before it changes anything.
   */
  region?: string;
  /**
   * Apply the migrations up to this version only (e.g. `0018_task_history_batches`): to test a later
   * migration over existing data. The database is then left as that version made it: the function
   * files (today's bodies, which may need later tables) are not applied.
   */
  until?: string;
}

/** What one migration run did: shared migrations applied, tenant schemas brought up to date, and those that failed. */
export interface MigrationReport {
  applied: string[];
  tenantSchemas: TenantSchemaReport;
}

/**
 * `migrate()`, then every enterprise tenant schema brought up to date (see syncTenantSchemas). A
 * tenant schema that fails is reported here and logged; the others and the shared tables are not held back.
 */
export async function migrateWithReport(adminUrl: string, log: Logger, options: MigrateOptions = {}): Promise<MigrationReport> {
  const region = options.region ?? DEFAULT_REGION;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  const applied: string[] = [];
  let tenantSchemas: TenantSchemaReport = { synced: [], failed: [] };
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(await readFile(`${MIGRATIONS_DIR}roles.sql`, 'utf8'));
    // The owner creates objects in the public schema; nobody else may (Postgres 15 default).
    await client.query('GRANT USAGE, CREATE ON SCHEMA public TO fleetgate_owner');
    await client.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
    // The owner creates one schema per enterprise tenant (sync_tenant_schema, migrations/functions/enterprise.sql).
    await client.query(`DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO fleetgate_owner', current_database()); END $$`);
    await client.query('SET ROLE fleetgate_owner');
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const recorded = async () =>
      new Set((await client.query<{ version: string }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    let done = await recorded();
    if (done.has('0016_regions')) await assertRegion(client, region);
    await client.query("SELECT set_config('fleetgate.region', $1, false)", [region]);
    const numbered = await numberedVersions();
    if (done.size === 0 && !options.until && (await exists(BASELINE_FILE))) {
      // A fresh install starts from the baseline (it records the versions it stands for); the
      // numbered files after it, if any, run below. With `until`, the old chain is what is asked for.
      await applyFunctions(client, log, await readFile(BASELINE_FILE, 'utf8'));
      done = await recorded();
      applied.push(...[...done].sort());
      log.info({ through: applied.at(-1) }, 'baseline applied');
    }
    const versions = new Set(numbered);
    for (const version of numbered) {
      if (options.until && version > options.until) break;
      if (done.has(version)) continue;
      const sql = await readFile(`${MIGRATIONS_DIR}${version}.sql`, 'utf8');
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
    if (!options.until) {
      const ahead = [...done].filter((version) => !versions.has(version)).sort();
      if (ahead.length > 0) {
        // A newer release migrated this database: its function bodies are the ones its schema needs.
        log.warn({ unknownMigrations: ahead }, 'database is ahead of this release: its SQL functions are left as they are');
      } else {
        await applyFunctions(client, log);
      }
    }
    // A shared tenant table added by a later migration gets the tier guard too (ensure_tier_guards, migrations/functions/enterprise.sql).
    await client.query('SELECT ensure_tier_guards()');
    tenantSchemas = await syncTenantSchemas(client, log);
  } finally {
    await client.query('RESET ROLE').catch(() => undefined);
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await client.end();
  }
  return { applied, tenantSchemas };
}

/**
 * Re-applies every file of `migrations/functions/` (in name order, one transaction): each holds
 * `CREATE OR REPLACE` of the current bodies and their EXECUTE grants, so a run over a database in
 * shape changes nothing, and a body edited in its file reaches every database on its next run.
 * Function bodies are not checked at creation (as pg_dump restores them), so the order of the
 * files and of the functions in them does not matter. With `baseline` (a fresh install), the
 * baseline runs after them in the same transaction: its defaults, policies and triggers name them.
 */
async function applyFunctions(client: pg.Client, log: Logger, baseline?: string): Promise<void> {
  const files = (await readdir(FUNCTIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
  let current = '';
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL check_function_bodies = off');
    for (const file of files) {
      current = file;
      await client.query(await readFile(`${FUNCTIONS_DIR}${file}`, 'utf8'));
    }
    if (baseline) {
      // The baseline's defaults, policies and triggers name the functions just made, in this transaction.
      current = 'baseline.sql';
      await client.query(baseline);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    log.error({ err: error, functions: current }, 'applying the SQL functions failed');
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export interface TenantSchemaReport {
  synced: string[];
  failed: { schema: string; error: string }[];
}

/** Refuses a database that records another region than the one it is configured as (a crossed configuration). */
async function assertRegion(client: pg.Client, region: string): Promise<void> {
  const { rows } = await client.query<{ name: string; database: string }>(
    'SELECT name, current_database() AS database FROM region_identity',
  );
  const recorded = rows[0]?.name;
  if (recorded !== region) {
    throw new Error(
      `database ${rows[0]?.database ?? ''} is the database of region ${recorded ?? '(none)'}, configured as region ${region}`,
    );
  }
}

/**
 * Brings every existing tenant schema up to date with the shared tables, each in its own
 * transaction, so one broken schema is rolled back, logged and reported while the others go on.
 * Idempotent: sync_tenant_schema() only adds what is missing. Runs as the owner role.
 */
async function syncTenantSchemas(client: pg.Client, log: Logger): Promise<TenantSchemaReport> {
  const report: TenantSchemaReport = { synced: [], failed: [] };
  const { rows } = await client.query<{ schema: string; tenant_id: string }>(
    `SELECT nspname AS schema, t.id AS tenant_id
       FROM pg_namespace JOIN LATERAL (SELECT (regexp_match(nspname, '^tenant_([0-9a-f]{32})$'))[1]::uuid AS id) t ON t.id IS NOT NULL
      ORDER BY nspname`,
  );
  for (const { schema, tenant_id } of rows) {
    try {
      await client.query('BEGIN');
      await client.query('SELECT sync_tenant_schema($1)', [tenant_id]);
      await client.query('COMMIT');
      report.synced.push(schema);
    } catch (error) {
      await client.query('ROLLBACK');
      const message = error instanceof Error ? error.message : String(error);
      log.error({ err: error, schema }, 'tenant schema migration failed');
      report.failed.push({ schema, error: message });
    }
  }
  if (rows.length > 0) log.info({ synced: report.synced.length, failed: report.failed.length }, 'tenant schemas migrated');
  return report;
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
