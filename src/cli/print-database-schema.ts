import { writeFileSync } from 'node:fs';
import { BASELINE_FILE, DATABASE_DUMP_FILE, dumpChainDatabase } from '../db/schema-dump.ts';
import { createLogger } from '../shared/logger.ts';

/**
 * Writes `schema/database.sql` and `migrations/baseline.sql`: the schema of a database migrated
 * from nothing through the numbered files and the function files (a scratch database on the server
 * of TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres, dropped afterwards),
 * and the fresh-install baseline made from it. Never edited by hand; test/database-schema.test.ts
 * fails when either is stale.
 */
const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const { dump, baseline } = await dumpChainDatabase(adminUrl, createLogger({ level: 'warn' }));
writeFileSync(DATABASE_DUMP_FILE, dump);
writeFileSync(BASELINE_FILE, baseline);
process.stdout.write(`${DATABASE_DUMP_FILE} and ${BASELINE_FILE} written\n`);
