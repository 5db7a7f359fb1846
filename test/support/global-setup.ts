import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { migrate } from '../../src/db/migrate.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { ADMIN_URL, adminQuery, urlForDatabase } from './database.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string;
  }
}

/**
 * Once per run: a template database migrated exactly as production migrates (roles, tables, RLS).
 * Test files clone it, which takes a fraction of a second. The name is unique per run, so two
 * runs on one Postgres (two checkouts, a developer and CI) never drop each other's template.
 */
export default async function setup(project: TestProject) {
  const template = `fleetgate_template_${randomBytes(4).toString('hex')}`;
  await adminQuery(ADMIN_URL, `CREATE DATABASE ${template}`);
  await migrate(urlForDatabase(ADMIN_URL, template), createLogger({ level: 'warn' }));
  project.provide('templateDatabase', template);
  return async () => {
    await adminQuery(ADMIN_URL, `DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
  };
}
