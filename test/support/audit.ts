import pg from 'pg';
import { decodeGlobalId } from '../../src/shared/global-id.ts';

/** The uuid inside a Relay global id. */
export function uuidOf(globalId: string): string {
  return decodeGlobalId(globalId).id;
}

/**
 * Runs statements as the table owner, `fleetgate_owner`, bound to a tenant (FORCE RLS binds the owner
 * too). With `replica`, the superuser first sets session_replication_role so no trigger fires: the
 * strongest tampering a database administrator can do without touching the gateway's keys.
 */
export async function asOwner(adminUrl: string, tenantId: string, statements: string[], options: { replica?: boolean } = {}) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    if (options.replica) await client.query('SET LOCAL session_replication_role = replica');
    await client.query('SET LOCAL ROLE fleetgate_owner');
    await client.query("SELECT set_config('app.tenant_id', $1, true)", [tenantId]);
    const results = [];
    for (const statement of statements) results.push(await client.query(statement));
    await client.query('COMMIT');
    return results;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    await client.end();
  }
}

/**
 * A tenant whose log already holds `count` events from `daysAgo` days back, one a minute, with a
 * valid chain computed by the migration's own audit_event_hash (the insert trigger is off, as it
 * would overwrite created_at). Returns the tenant and its owner's ids.
 */
export async function seedTenantWithHistory(adminUrl: string, options: { count: number; daysAgo: number }) {
  const tenantId = crypto.randomUUID();
  const ownerId = crypto.randomUUID();
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    await client.query("INSERT INTO tenants (id, name) VALUES ($1, 'with-history')", [tenantId]);
    await client.query("INSERT INTO users (id, tenant_id, email, name, role) VALUES ($1, $2, 'old@example.com', 'Old', 'OWNER')", [
      ownerId,
      tenantId,
    ]);
    await client.query(`CREATE FUNCTION pg_temp.seed_history(p_tenant uuid, p_count int, p_start timestamptz) RETURNS void LANGUAGE plpgsql AS $f$
      DECLARE prev bytea := '\\x0000000000000000000000000000000000000000000000000000000000000000'; h bytea; t timestamptz; e uuid;
      BEGIN
        FOR i IN 1..p_count LOOP
          t := p_start + make_interval(mins => i);
          e := gen_random_uuid();
          h := audit_event_hash(p_tenant, i, e, t, 'USER', 'seed', 'agent.update', 'Agent', NULL, 'SUCCESS', NULL, jsonb_build_object('i', i), prev);
          INSERT INTO audit_events (id, tenant_id, actor_type, actor_id, action, target_type, target_id, outcome, request_id, detail, created_at, seq, prev_hash, hash)
          VALUES (e, p_tenant, 'USER', 'seed', 'agent.update', 'Agent', NULL, 'SUCCESS', NULL, jsonb_build_object('i', i), t, i, prev, h);
          prev := h;
        END LOOP;
      END $f$`);
    await client.query('SELECT pg_temp.seed_history($1, $2, now() - make_interval(days => $3))', [
      tenantId,
      options.count,
      options.daysAgo,
    ]);
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
  return { tenantId, ownerId };
}
