import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, expect, test } from 'vitest';
import { migrate } from '../src/db/migrate.ts';
import { chainEvents, sqlOfClient } from '../src/modules/audit/audit.store.ts';
import { ChainVerifier } from '../src/modules/audit/chain.ts';
import { createLogger } from '../src/shared/logger.ts';
import { ADMIN_URL, adminQuery, urlForDatabase } from './support/database.ts';

const name = `fleetgate_migration_${Math.random().toString(16).slice(2, 10)}`;
const url = urlForDatabase(ADMIN_URL, name);
afterAll(() => adminQuery(ADMIN_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));

/** A database migrated up to 0001 only, with audit events written the old way, then migrated on. */
test('events written before the chain existed are chained by the migration, per tenant, in time order', async () => {
  await adminQuery(ADMIN_URL, `CREATE DATABASE ${name}`);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const tenants = ['0190a0b0-0000-7000-8000-00000000000a', '0190a0b0-0000-7000-8000-00000000000b'];
  try {
    await client.query(await readFile('migrations/roles.sql', 'utf8'));
    await client.query('GRANT USAGE, CREATE ON SCHEMA public TO fleetgate_owner');
    await client.query('SET ROLE fleetgate_owner');
    await client.query('CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    await client.query(await readFile('migrations/0001_data_plane.sql', 'utf8'));
    await client.query("INSERT INTO schema_migrations (version) VALUES ('0001_data_plane')");
    await client.query('RESET ROLE');
    for (const [index, tenant] of tenants.entries()) {
      await client.query('INSERT INTO tenants (id, name) VALUES ($1, $2)', [tenant, `old-${index}`]);
      for (let i = 3; i >= 1; i--) {
        // Inserted newest first: the chain must follow created_at, not insertion order.
        await client.query(
          `INSERT INTO audit_events (id, tenant_id, actor_type, actor_id, action, outcome, detail, created_at)
           VALUES (gen_random_uuid(), $1, 'USER', 'u', $2, 'SUCCESS', $3, now() - make_interval(days => $4))`,
          [tenant, `old.${i}`, JSON.stringify({ i }), 10 - i],
        );
      }
    }
  } finally {
    await client.end();
  }

  expect(await migrate(url, createLogger({ level: 'silent' }))).toContain('0002_audit_chain'); // and whatever came after it

  const reader = new pg.Client({ connectionString: url });
  await reader.connect();
  try {
    const sql = sqlOfClient(reader);
    for (const tenant of tenants) {
      const chain = new ChainVerifier(tenant);
      const actions: string[] = [];
      for await (const event of chainEvents(sql, tenant)) {
        expect(chain.push(event)).toBe(true);
        actions.push(event.action);
      }
      expect(actions).toEqual(['old.1', 'old.2', 'old.3']); // created 9, 8 and 7 days ago
      expect(chain.result()).toMatchObject({ intact: true, eventsChecked: 3, firstSeq: '1', lastSeq: '3' });
    }
  } finally {
    await reader.end();
  }
});
