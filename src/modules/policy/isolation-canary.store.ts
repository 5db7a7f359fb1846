import type { EntityManager } from '@mikro-orm/postgresql';
import type pg from 'pg';
import { z } from 'zod';
import { parseRows, selectRow } from '../../db/rows.ts';

/**
 * The policy module's raw SQL: the isolation canary's probes. They run on a plain `pg` client
 * connected as the gateway's role (not through the ORM, whose filter would hide what RLS lets
 * through), inside a transaction the canary rolls back; and its read of an agent's recorded sandbox.
 * The canary runs on a timer, never on a request's path.
 */

const roleRow = z.object({ rolsuper: z.boolean(), rolbypassrls: z.boolean() });

/** Whether the connected role is superuser or bypasses RLS (either is an exposure); undefined if the catalog has no such role. */
export async function roleFlags(client: pg.Client): Promise<z.output<typeof roleRow> | undefined> {
  const { rows } = await client.query('select rolsuper, rolbypassrls from pg_roles where rolname = current_user');
  return parseRows(roleRow, rows, 'select pg_roles')[0];
}

const tableRow = z.object({ relname: z.string(), relrowsecurity: z.boolean(), relforcerowsecurity: z.boolean() });

/** Every table with a tenant_id column, shared or of an enterprise tenant's schema (tenant_schema_name, migrations/functions/enterprise.sql), with its RLS flags. */
export async function tenantTables(client: pg.Client): Promise<z.output<typeof tableRow>[]> {
  const { rows } =
    await client.query(`select case when n.nspname = 'public' then c.relname else n.nspname || '.' || c.relname end as relname,
      c.relrowsecurity, c.relforcerowsecurity from pg_class c join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
    where c.relkind = 'r' and (n.nspname = 'public' or n.nspname ~ '^tenant_[0-9a-f]{32}')`);
  return parseRows(tableRow, rows, 'select pg_class');
}

const countRow = z.object({ n: z.number() });

/** How many of tenant B's agents (by tenant, or the one by id) the client's RLS setting lets it see: anything but 0 is an exposure. */
export async function visibleAgentsOf(client: pg.Client, tenantId: string, agentId: string): Promise<number | undefined> {
  const { rows } = await client.query('select count(*)::int as n from agents where tenant_id = $1 or id = $2', [tenantId, agentId]);
  return parseRows(countRow, rows, 'select count agents')[0]?.n;
}

/**
 * Tries to insert an agent into `tenantId` under a savepoint, rolled back at once: 'inserted', or the
 * refusal's SQLSTATE (42501 is RLS refusing it, the only right answer).
 */
export async function tryImplantAgent(client: pg.Client, tenantId: string): Promise<string | undefined> {
  await client.query('savepoint implant');
  const outcome = await client
    .query("insert into agents (id, tenant_id, name, image, created_by) values (gen_random_uuid(), $1, '__implant', 'x', 'CANARY:a')", [
      tenantId,
    ])
    .then(
      () => 'inserted',
      (error: { code?: string }) => error.code,
    );
  await client.query('rollback to savepoint implant');
  return outcome;
}

const runtimeRow = z.object({ sandbox_runtime: z.string().nullable() });

/** The sandbox the API shows for the agent (`agents.sandbox_runtime`, run under its tenant); null when none is recorded or the agent is gone. */
export async function recordedRuntime(em: EntityManager, agentId: string): Promise<string | null> {
  return (await selectRow(em, runtimeRow, 'select sandbox_runtime from agents where id = ?', [agentId]))?.sandbox_runtime ?? null;
}
