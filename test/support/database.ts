import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { migrate } from '../../src/db/migrate.ts';
import { createLogger } from '../../src/shared/logger.ts';

/** The administrative connection of the test Postgres (a superuser; trust auth on CI machines). */
export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function urlForDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export async function adminQuery<T extends pg.QueryResultRow = pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query<T>(sql, params);
  } finally {
    await client.end();
  }
}

/** A fresh database for one test file, cloned from the migrated template (see global-setup.ts). */
export async function createTestDatabase(): Promise<{ name: string; adminUrl: string; drop: () => Promise<void> }> {
  const name = `fleetgate_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(ADMIN_URL, `CREATE DATABASE ${name} TEMPLATE ${inject('templateDatabase')}`);
  // Database privileges are not copied from a template; migrate() grants this one (enterprise tenant schemas).
  await adminQuery(ADMIN_URL, `GRANT CREATE ON DATABASE ${name} TO fleetgate_owner`);
  return {
    name,
    adminUrl: urlForDatabase(ADMIN_URL, name),
    drop: async () => {
      await adminQuery(ADMIN_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/**
 * A fresh database for another region, migrated from scratch as that region, as main.ts migrates
 * each region's database (the template is the home region's).
 */
export async function createRegionDatabase(region: string): Promise<{ name: string; adminUrl: string; drop: () => Promise<void> }> {
  const name = `fleetgate_test_${region.replace('-', '_')}_${randomBytes(6).toString('hex')}`;
  await adminQuery(ADMIN_URL, `CREATE DATABASE ${name}`);
  const adminUrl = urlForDatabase(ADMIN_URL, name);
  await migrate(adminUrl, createLogger({ level: 'warn' }), { region });
  return {
    name,
    adminUrl,
    drop: async () => {
      await adminQuery(ADMIN_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
