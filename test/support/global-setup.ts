import { migrate } from '../../src/db/migrate.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { ADMIN_URL, adminQuery, TEMPLATE_DB, urlForDatabase } from './database.ts';

/**
 * Once per run: a template database migrated exactly as production migrates (roles, tables, RLS).
 * Test files clone it, which takes a fraction of a second and runs migrations' code path once.
 */
export default async function setup() {
  await adminQuery(ADMIN_URL, `DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
  await adminQuery(ADMIN_URL, `CREATE DATABASE ${TEMPLATE_DB}`);
  await migrate(urlForDatabase(ADMIN_URL, TEMPLATE_DB), createLogger({ level: 'warn' }));
}
