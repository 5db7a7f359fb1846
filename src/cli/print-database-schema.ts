import { writeFileSync } from 'node:fs';
import { DATABASE_DUMP_FILE, dumpFreshDatabase } from '../db/schema-dump.ts';
import { createLogger } from '../shared/logger.ts';

/**
 * Writes `schema/database.sql`: the schema of a database migrated from nothing (a scratch database
 * on the server of TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres, dropped
 * afterwards). Never edited by hand; test/database-schema.test.ts fails when it is stale.
 */
const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
writeFileSync(DATABASE_DUMP_FILE, await dumpFreshDatabase(adminUrl, createLogger({ level: 'warn' })));
process.stdout.write(`${DATABASE_DUMP_FILE} written\n`);
