import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { migrate } from '../src/db/migrate.ts';
import { BASELINE_FILE, baselineFromDump, CONFIGURATION_TABLES, DATABASE_DUMP_FILE, dumpSchema } from '../src/db/schema-dump.ts';
import { createLogger } from '../src/shared/logger.ts';
import { ADMIN_URL, adminQuery, createTestDatabase, urlForDatabase } from './support/database.ts';

/**
 * schema/database.sql is the dump of a database migrated from nothing (the run's template, which
 * global-setup migrates exactly as production does: from migrations/baseline.sql), and every way a
 * database reaches this release (from the baseline, through the old chain of numbered files from
 * nothing or from an earlier release's database, by running migrate() again) ends in that same dump.
 */
const log = createLogger({ level: 'silent' });
const scratch: string[] = [];
let fresh: Awaited<ReturnType<typeof createTestDatabase>>;
let freshDump = '';

beforeAll(async () => {
  fresh = await createTestDatabase();
  freshDump = await dumpSchema(fresh.adminUrl);
});
afterAll(async () => {
  await fresh?.drop();
  for (const name of scratch) await adminQuery(ADMIN_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
});

async function scratchDatabase(): Promise<string> {
  const name = `fleetgate_dump_${randomBytes(6).toString('hex')}`;
  scratch.push(name);
  await adminQuery(ADMIN_URL, `CREATE DATABASE ${name}`);
  return urlForDatabase(ADMIN_URL, name);
}

/** The first line where two dumps differ, with its number, or null: vitest truncates long strings it compares. */
function firstDifference(committed: string, dumped: string): string | null {
  const a = committed.split('\n');
  const b = dumped.split('\n');
  const at = a.findIndex((line, i) => line !== b[i]);
  const line = at === -1 ? (a.length === b.length ? -1 : a.length) : at;
  return line === -1
    ? null
    : `line ${line + 1}: committed ${JSON.stringify(a[line] ?? '(end)')}, migrated ${JSON.stringify(b[line] ?? '(end)')}`;
}

const numbered = async () =>
  (await readdir('migrations'))
    .filter((f) => /^\d{4}_.+\.sql$/.test(f))
    .map((f) => f.replace(/\.sql$/, ''))
    .sort();

describe('schema/database.sql', () => {
  test('is the dump of a freshly migrated database (stale: run `npm run schema:database` and commit it)', async () => {
    const committed = await readFile(DATABASE_DUMP_FILE, 'utf8').catch(() => '');
    const stale = `${DATABASE_DUMP_FILE} is stale: run \`npm run schema:database\` and commit the result`;
    expect(firstDifference(committed, freshDump), stale).toBeNull();
    expect(committed, stale).toBe(freshDump);
    const baseline = await readFile(BASELINE_FILE, 'utf8').catch(() => '');
    expect(baseline, `${BASELINE_FILE} is stale: run \`npm run schema:database\` and commit the result`).toBe(
      baselineFromDump(freshDump, await numbered()),
    );
  });

  test('a fresh install is the baseline, in one transaction; running migrate() again changes nothing', async () => {
    const [installed] = (
      await adminQuery(
        fresh.adminUrl,
        'select count(*)::int as versions, count(distinct applied_at)::int as transactions from schema_migrations',
      )
    ).rows;
    expect(installed).toEqual({ versions: (await numbered()).length, transactions: 1 });
    expect(await migrate(fresh.adminUrl, log)).toEqual([]);
    expect(await dumpSchema(fresh.adminUrl)).toBe(freshDump);
  });

  test('a database migrated through 0001–0022 by an earlier release, then upgraded, ends in the same dump as a fresh one', async () => {
    const url = await scratchDatabase();
    await migrate(url, log, { until: '0022_audit_events_fewer_indexes' });
    const later = (await numbered()).filter((v) => v > '0022_audit_events_fewer_indexes');
    expect(await migrate(url, log)).toEqual(later);
    expect(await dumpSchema(url)).toBe(freshDump);
  });

  test('the whole numbered chain alone defines exactly the functions of migrations/functions/, which then become the live bodies', async () => {
    const url = await scratchDatabase();
    const versions = await numbered();
    // `until` the last version: the numbered files only, as a database that a release before the function files migrated.
    await migrate(url, log, { until: versions.at(-1) });
    const routines = async (target: string) =>
      (
        await adminQuery<{ name: string }>(
          target,
          "select p.oid::regprocedure::text as name from pg_proc p where p.pronamespace = 'public'::regnamespace order by 1",
        )
      ).rows.map((row) => row.name);
    const inChain = await routines(url);
    const inFiles = (
      await Promise.all(
        (await readdir('migrations/functions')).filter((f) => f.endsWith('.sql')).map((f) => readFile(`migrations/functions/${f}`, 'utf8')),
      )
    )
      .flatMap((sql) => [...sql.matchAll(/^CREATE OR REPLACE (?:FUNCTION|PROCEDURE) (\w+)\(/gm)].map((m) => m[1]))
      .sort();
    // No function lives only in a numbered file, and none is defined twice in the function files.
    expect(inChain.map((name) => name.replace(/\(.*$/, '')).filter((name) => !inFiles.includes(name))).toEqual([]);
    expect(new Set(inFiles).size).toBe(inFiles.length);
    expect(await migrate(url, log)).toEqual([]);
    // Dropped functions stay dropped: after the function files, the database has exactly their functions.
    expect((await routines(url)).map((name) => name.replace(/\(.*$/, '')).sort()).toEqual(inFiles);
    expect(await dumpSchema(url)).toBe(freshDump);
    // Rows are configuration (in the dump), the region and the versions: the baseline writes the same.
    const filled = [];
    for (const { table } of (
      await adminQuery<{ table: string }>(url, "select tablename as table from pg_tables where schemaname = 'public' order by 1")
    ).rows) {
      if ((await adminQuery(url, `select from public.${table} limit 1`)).rows.length > 0) filled.push(table);
    }
    expect(filled).toEqual([...CONFIGURATION_TABLES, 'region_identity', 'schema_migrations'].sort());
    const facts =
      'select (select array_agg(version order by version) from schema_migrations) as versions, (select name from region_identity) as region';
    expect((await adminQuery(url, facts)).rows).toEqual((await adminQuery(fresh.adminUrl, facts)).rows);
  });
});
