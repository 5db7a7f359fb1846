import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { migrate } from '../src/db/migrate.ts';
import { createLogger } from '../src/shared/logger.ts';
import { uuidOf } from './support/audit.ts';
import { adminQuery, urlForDatabase } from './support/database.ts';
import { type Gateway, type GraphQLResponse, startGateway } from './support/gateway.ts';
import { Agents, CreateAgent } from './support/operations.ts';
import { startPrivatePostgres } from './support/private-postgres.ts';
import { waitUntil } from './support/wait.ts';

const TENANTS = 3;
const POOL_SIZE = 5;

/**
 * Chaos: the database restarts under load (an upgrade, a failover, a crash). Several tenants write
 * and read concurrently while the test restarts Postgres twice, cleanly (`-m fast`) and as a crash
 * (`-m immediate`, recovered from WAL). Nothing lost, nothing leaked: every write answered with
 * success is in the database, every read answered only its own tenant's rows, every refusal during
 * the outage is a clean coded 503, and requests succeed again afterwards on the same pool.
 */
describe('chaos: Postgres restarted mid-load', () => {
  let cluster: Awaited<ReturnType<typeof startPrivatePostgres>>;
  let gw: Gateway;

  beforeAll(async () => {
    cluster = await startPrivatePostgres();
    await adminQuery(cluster.adminUrl, 'CREATE DATABASE fleetgate');
    const adminUrl = urlForDatabase(cluster.adminUrl, 'fleetgate');
    await migrate(adminUrl, createLogger({ level: 'warn' }));
    gw = await startGateway({
      database: { name: 'fleetgate', adminUrl, drop: async () => undefined },
      poolSize: POOL_SIZE,
      databaseTimeouts: { poolAcquireMs: 2_000, statementMs: 15_000 },
    });
  }, 90_000);
  afterAll(async () => {
    await gw?.close();
    await cluster?.stop();
  });

  /**
   * As many reads as the pool has connections wait on a lock at once: a connection leaked by an
   * outage would leave one of them waiting for the pool instead, never reaching the lock.
   */
  async function everyPooledConnectionServes(tenants: { ownerToken: string }[]) {
    const holder = new pg.Client({ connectionString: gw.database.adminUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN; LOCK TABLE agents IN ACCESS EXCLUSIVE MODE');
      const reads = Array.from({ length: POOL_SIZE }, (_, i) =>
        gw.execute(Agents, { first: 5 }, { token: tenants[i % tenants.length]?.ownerToken }),
      );
      // Asked on a connection of its own: inside the holder's transaction pg_stat_activity is a snapshot.
      const waiting = async () =>
        (
          await adminQuery<{ n: number }>(
            gw.database.adminUrl,
            "select count(*)::int as n from pg_stat_activity where datname = current_database() and usename = 'fleetgate_app' and wait_event_type = 'Lock'",
          )
        ).rows[0]?.n;
      await waitUntil(async () => (await waiting()) === POOL_SIZE, 20_000, `${POOL_SIZE} pooled connections waiting on the lock`).catch(
        async (error) => {
          await holder.query('ROLLBACK');
          const answers = await Promise.all(reads);
          throw new Error(`${error.message}; waiting: ${await waiting()}; ${JSON.stringify(answers).slice(0, 1500)}`);
        },
      );
      await holder.query('ROLLBACK');
      for (const read of await Promise.all(reads)) expect(read.status).toBe(200);
    } finally {
      await holder.end();
    }
  }

  test('committed writes survive, reads stay in their tenant, the outage answers coded 503s, the pool recovers', async () => {
    const tenants = await Promise.all(Array.from({ length: TENANTS }, (_, i) => gw.seed.tenant(`chaos-${i}`)));
    const written = new Map<string, string[]>(tenants.map((tenant) => [tenant.id, []]));
    await everyPooledConnectionServes(tenants); // the check itself holds on a fresh pool
    const refusals: GraphQLResponse<unknown>[] = [];
    const unexpected: string[] = [];
    let stop = false;
    let sequence = 0;

    const load = tenants.map(async (tenant) => {
      while (!stop) {
        const name = `${tenant.name}-agent-${sequence++}`;
        const created = await gw.execute(CreateAgent, { input: { name, image: 'fleetgate/agent:1' } }, { token: tenant.ownerToken });
        if (created.data?.createAgent?.agent) {
          expect(created.data.createAgent.agent.name).toBe(name);
          written.get(tenant.id)?.push(created.data.createAgent.agent.id);
        } else refusals.push(created);
        const read = await gw.execute(Agents, { first: 50 }, { token: tenant.ownerToken });
        if (read.data?.agents) {
          for (const { node } of read.data.agents.edges) {
            if (!node.name.startsWith(`${tenant.name}-`)) unexpected.push(`${tenant.name} read ${node.name}`);
          }
        } else refusals.push(read);
        // A client backs off a little between requests; and the loop must let timers and child exits run
        // (an answer that needs no I/O, during the outage, would otherwise spin on microtasks alone).
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    });

    const successes = () => [...written.values()].reduce((sum, ids) => sum + ids.length, 0);
    try {
      await waitUntil(() => successes() >= 6, 20_000);
      await cluster.restart('fast');
      const afterFast = successes();
      await waitUntil(() => successes() >= afterFast + 6, 30_000);
      await cluster.restart('immediate');
      const afterCrash = successes();
      // The pool recovers: new writes commit after the crash restart.
      await waitUntil(() => successes() >= afterCrash + 6, 30_000);
    } finally {
      stop = true;
      await Promise.all(load);
    }

    expect(unexpected).toEqual([]);
    // Every refusal during the outage is a coded 503 that discloses nothing of the database: it is
    // unavailable (the connection was lost), busy (no connection came within the pool wait), or the
    // tenant's freeze state cannot be vouched for (the policy feed is down: fail closed).
    const answers = new Set(refusals.map((refusal) => JSON.stringify({ status: refusal.status, errors: refusal.errors })));
    const allowed = [
      {
        message: 'The database is unavailable; try again shortly',
        extensions: { code: 'SERVICE_UNAVAILABLE', reason: 'DATABASE_UNAVAILABLE' },
      },
      { message: 'The database is busy; try again shortly', extensions: { code: 'SERVICE_UNAVAILABLE', reason: 'DATABASE_BUSY' } },
      { message: 'Tenant state is unavailable; try again shortly', extensions: { code: 'SERVICE_UNAVAILABLE' } },
    ].map((error) => JSON.stringify({ status: 503, errors: [error] }));
    expect([...answers].filter((answer) => !allowed.includes(answer))).toEqual([]);
    expect(refusals.length).toBeGreaterThan(0); // the restarts were felt
    // Nothing lost: every agent answered as created is in its own tenant's rows.
    for (const tenant of tenants) {
      const ids = written.get(tenant.id) ?? [];
      const { rows } = await adminQuery(gw.database.adminUrl, 'select id::text from agents where tenant_id = $1', [uuidOf(tenant.id)]);
      const stored = new Set(rows.map((row) => row.id as string));
      expect(ids.map(uuidOf).filter((id) => !stored.has(id))).toEqual([]);
    }
    expect(gw.logs()).not.toMatch(/"msg":"unexpected error"/);

    // The whole pool came back, not just part of it.
    await everyPooledConnectionServes(tenants);
  }, 90_000);
});
