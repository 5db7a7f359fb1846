import type { EntityManager } from '@mikro-orm/postgresql';
import type pg from 'pg';
import { z } from 'zod';
import type { PageArgs } from '../../db/pagination.ts';
import { parseRows, selectRow, selectRows, timestamp } from '../../db/rows.ts';
import { CANARY_REASONS, type CanaryReason, type StoredCanaryRun } from './canary-run.ts';

/**
 * The policy module's raw SQL: the isolation canary's probes. They run on a plain `pg` client
 * connected as the gateway's role (not through the ORM, whose filter would hide what RLS lets
 * through), inside a transaction the canary rolls back; its read of an agent's recorded sandbox;
 * and its history (below). The canary runs on a timer, never on a request's path.
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

/*
 * The canary's history (isolation_canary_runs, migrations/0037). The canary writes and prunes it in an
 * operator transaction of its own; operators list it under the table's operator policy; a tenant's
 * owners and admins list it through isolation_canary_outcomes() (migrations/functions/canary.sql),
 * which needs their tenant setting and returns neither replica nor reason.
 */

/** Appends one run. `em`: an operator transaction (the table's policy admits nothing else). */
export async function insertCanaryRun(em: EntityManager, run: Omit<StoredCanaryRun, 'replica'> & { replica: string }): Promise<void> {
  await em.execute('insert into isolation_canary_runs (id, replica, outcome, reason, ran_at, duration_ms) values (?, ?, ?, ?, ?, ?)', [
    run.id,
    run.replica,
    run.outcome,
    run.reason,
    run.ranAt,
    run.durationMs,
  ]);
}

/**
 * Retention, after each run: every replica's runs older than `keepDays` (replicas that are gone too),
 * and this replica's beyond its newest `keepPerReplica` (which bounds a short canary period). Answers
 * how many rows went.
 */
export async function pruneCanaryRuns(em: EntityManager, replica: string, keep: { days: number; perReplica: number }): Promise<number> {
  const old = await em.execute<{ id: string }[]>(
    'delete from isolation_canary_runs where ran_at < now() - make_interval(days => ?) returning id',
    [keep.days],
  );
  const surplus = await em.execute<{ id: string }[]>(
    `delete from isolation_canary_runs where replica = ? and id < (
       select id from isolation_canary_runs where replica = ? order by id desc offset ? limit 1
     ) returning id`,
    [replica, replica, keep.perReplica - 1],
  );
  return old.length + surplus.length;
}

const storedRunRow = z.object({
  id: z.string(),
  replica: z.string().nullable(),
  outcome: z.enum(['OK', 'EXPOSED', 'ERROR']),
  reason: z.enum(Object.keys(CANARY_REASONS) as [CanaryReason, ...CanaryReason[]]).nullable(),
  ran_at: timestamp,
  duration_ms: z.number(),
});

function storedRunOf(row: z.output<typeof storedRunRow>): StoredCanaryRun {
  return { id: row.id, replica: row.replica, outcome: row.outcome, reason: row.reason, ranAt: row.ran_at, durationMs: row.duration_ms };
}

/**
 * A page of the history, newest first (oldest first when `page.inverted`, as the connection asks for a
 * page before a cursor): `after` means older, `before` newer. `em`: an operator's transaction.
 */
export async function operatorCanaryRuns(em: EntityManager, page: PageArgs): Promise<StoredCanaryRun[]> {
  const rows = await selectRows(
    em,
    storedRunRow,
    `select id, replica, outcome, reason, ran_at, duration_ms from isolation_canary_runs
      where (?::uuid is null or id < ?::uuid) and (?::uuid is null or id > ?::uuid)
      order by id ${page.inverted ? 'asc' : 'desc'} limit ?`,
    [page.after ?? null, page.after ?? null, page.before ?? null, page.before ?? null, page.limit],
  );
  return rows.map(storedRunOf);
}

/** The same page as a tenant's owners and admins see it (isolation_canary_outcomes): no replica, no reason. `em`: the tenant's request transaction. */
export async function tenantCanaryOutcomes(em: EntityManager, page: PageArgs): Promise<StoredCanaryRun[]> {
  const rows = await selectRows(
    em,
    storedRunRow,
    `select run_id as id, null::text as replica, run_outcome as outcome, null::text as reason, run_ran_at as ran_at,
            run_duration_ms as duration_ms from isolation_canary_outcomes(?, ?, ?, ?)`,
    [page.after ?? null, page.before ?? null, page.limit, page.inverted],
  );
  return rows.map(storedRunOf);
}
