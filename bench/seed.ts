import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TokenIssuer } from '../src/auth/tokens.ts';

export const AGENTS_PER_TENANT = 20;

/** One seeded tenant and the JWT of its OWNER, as the load generator uses them. */
export interface TenantFixture {
  tenantId: string;
  token: string;
}

/** Everything seeded so far: the tenants to pick from and the owner of every agent, for the foreign-row check. */
export interface Fixtures {
  tenants: TenantFixture[];
  /** agent uuid → tenant uuid. */
  agentOwner: Map<string, string>;
}

/** Creates an empty database for this run on the server of `adminUrl`; returns its administrative URL and a dropper. */
export async function createBenchDatabase(adminUrl: string): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `fleetgate_bench_${randomBytes(4).toString('hex')}`;
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    // WITH (FORCE) ends sessions a crashed child may have left behind.
    drop: () => withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/**
 * Grows the data set to `targetTenants` tenants, each with one OWNER user and AGENTS_PER_TENANT
 * agents, and mints a token per new tenant. Runs as the superuser, which bypasses RLS (seeding only).
 *
 * - `session_replication_role = replica` skips the per-row count triggers (and FK triggers) that
 *   would otherwise update each tenant row 21 times; the counts are written directly instead.
 * - Agents are inserted round-robin across tenants (agent 1 of every tenant, then agent 2, …), so a
 *   tenant's agents lie on different heap pages as if created over time, not packed side by side.
 * - `settle` afterwards: the planner's statistics for the new size, hint bits set, pages flushed.
 */
export async function seedTenants(benchUrl: string, fixtures: Fixtures, targetTenants: number, tokens: TokenIssuer): Promise<void> {
  const from = fixtures.tenants.length + 1;
  if (targetTenants < from) return;
  const owners = await withClient(benchUrl, async (client) => {
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    const { rows: tenantRows } = await client.query<{ id: string }>(
      `INSERT INTO tenants (id, name, user_count, agent_count)
       SELECT gen_random_uuid(), 'bench-' || n, 1, $3 FROM generate_series($1::int, $2::int) AS n
       RETURNING id`,
      [from, targetTenants, AGENTS_PER_TENANT],
    );
    const tenantIds = tenantRows.map((row) => row.id);
    const { rows: userRows } = await client.query<{ id: string; tenant_id: string }>(
      `INSERT INTO users (id, tenant_id, email, name, role)
       SELECT gen_random_uuid(), t, 'owner-' || t || '@bench.test', 'Bench owner', 'OWNER' FROM unnest($1::uuid[]) AS t
       RETURNING id, tenant_id`,
      [tenantIds],
    );
    const { rows: agentRows } = await client.query<{ id: string; tenant_id: string }>(
      `INSERT INTO agents (id, tenant_id, name, image, created_by)
       SELECT gen_random_uuid(), u.tenant_id, 'agent-' || lpad(i::text, 2, '0'), 'fleetgate/agent:1', 'USER:' || u.id
       FROM generate_series(1, $3::int) AS i, unnest($1::uuid[], $2::uuid[]) AS u (id, tenant_id)
       ORDER BY i, u.tenant_id
       RETURNING id, tenant_id`,
      [userRows.map((row) => row.id), userRows.map((row) => row.tenant_id), AGENTS_PER_TENANT],
    );
    // One signed-in session per owner: its token names the session, as a real sign-in's does.
    const { rows: sessionRows } = await client.query<{ id: string; user_id: string; tenant_id: string }>(
      `INSERT INTO user_sessions (id, tenant_id, user_id, device_label, method, expires_at)
       SELECT gen_random_uuid(), u.tenant_id, u.id, 'bench', 'SIGN_UP', now() + interval '30 days'
       FROM unnest($1::uuid[], $2::uuid[]) AS u (id, tenant_id)
       RETURNING id, user_id, tenant_id`,
      [userRows.map((row) => row.id), userRows.map((row) => row.tenant_id)],
    );
    await client.query('COMMIT');
    await settle(client, ['tenants', 'users', 'agents', 'user_sessions']);
    for (const row of agentRows) fixtures.agentOwner.set(row.id, row.tenant_id);
    return sessionRows;
  });
  for (const owner of owners) {
    const token = await tokens.issue({
      kind: 'user',
      tenantId: owner.tenant_id,
      userId: owner.user_id,
      role: 'OWNER',
      tokenVersion: 1,
      sessionId: owner.id,
    });
    fixtures.tenants.push({ tenantId: owner.tenant_id, token: token.reveal() });
  }
}

/**
 * VACUUM ANALYZE of the tables a set-up step wrote, then a CHECKPOINT. The step's deferred work
 * (hint bits, pruning the old row versions, dead index entries, dirty pages to flush) would
 * otherwise be paid in the first rounds, by the first server measured, not by the step.
 */
export async function settle(client: pg.Client, tables: readonly string[]): Promise<void> {
  await client.query(`VACUUM ANALYZE ${tables.join(', ')}`);
  await client.query('CHECKPOINT');
}

/** One statement on a connection of its own (administration: databases, seeding, checks). */
export function adminQuery(url: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  return withClient(url, (client) => client.query(sql, params));
}

/** One connection of its own for `run`, closed whatever happens. */
export async function withClient<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}
