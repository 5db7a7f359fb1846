import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { Agents, OwnTenant } from './support/operations.ts';

const LOCK_TIMEOUT_MS = 400;

/**
 * A lock held on a table (a migration, a stuck session, an operator's `LOCK TABLE`) must not stall
 * every tenant's requests for as long as it is held: the app role's lock_timeout cancels the wait and
 * the request is answered a fast 503 SERVICE_UNAVAILABLE with `reason: DATABASE_BUSY`.
 */
describe('database timeouts', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway({ databaseTimeouts: { lockMs: LOCK_TIMEOUT_MS, statementMs: 5_000, poolAcquireMs: 2_000 } });
  });
  afterAll(() => gw?.close());

  test('a lock held on the agents table answers 503 DATABASE_BUSY within the lock timeout, and other reads still answer', async () => {
    const acme = await gw.seed.tenant();
    await acme.agent();
    expectNoErrors(await gw.execute(Agents, { first: 5 }, { token: acme.ownerToken }));

    const holder = new pg.Client({ connectionString: gw.database.adminUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN; LOCK TABLE agents IN ACCESS EXCLUSIVE MODE');
      const started = performance.now();
      const blocked = await gw.execute(Agents, { first: 5 }, { token: acme.ownerToken });
      const elapsed = performance.now() - started;
      expect(blocked.status).toBe(503);
      expect(blocked.errors).toMatchInlineSnapshot(`
        [
          {
            "extensions": {
              "code": "SERVICE_UNAVAILABLE",
              "reason": "DATABASE_BUSY",
            },
            "message": "The database is busy; try again shortly",
          },
        ]
      `);
      expect(elapsed).toBeGreaterThanOrEqual(LOCK_TIMEOUT_MS - 50);
      // The bound is timeout + 100 ms; the margin absorbs a machine shared by several test runs.
      expect(elapsed).toBeLessThan(LOCK_TIMEOUT_MS + 600);

      // A request that needs no lock on that table is not held up behind it.
      const own = await gw.execute(OwnTenant, {}, { token: acme.ownerToken });
      expect(own.status).toBe(200);
      expectNoErrors(own);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    // Released: the same read answers again.
    expectNoErrors(await gw.execute(Agents, { first: 5 }, { token: acme.ownerToken }));
    const metrics = await gw.yoga.fetch('http://gateway.test/metrics', {
      headers: { authorization: `Bearer ${await gw.operator.token()}` },
    });
    expect(await metrics.text()).toContain('fleetgate_database_busy_total{limit="lock_timeout"} 1');
  });
});

describe('database pool wait', () => {
  let gw: Gateway;
  beforeAll(async () => {
    // One connection: a request stuck on a lock holds it, the next request waits for the pool.
    gw = await startGateway({ poolSize: 1, databaseTimeouts: { lockMs: 3_000, poolAcquireMs: 300 } });
  });
  afterAll(() => gw?.close());

  test('a request that finds no free pooled connection within the pool timeout answers 503 DATABASE_BUSY', async () => {
    const acme = await gw.seed.tenant();
    expectNoErrors(await gw.execute(OwnTenant, {}, { token: acme.ownerToken })); // its principal is cached from here on
    const holder = new pg.Client({ connectionString: gw.database.adminUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN; LOCK TABLE agents IN ACCESS EXCLUSIVE MODE');
      const stuck = gw.execute(Agents, { first: 5 }, { token: acme.ownerToken });
      await new Promise((resolve) => setTimeout(resolve, 200)); // it holds the only connection now
      const started = performance.now();
      const waiting = await gw.execute(OwnTenant, {}, { token: acme.ownerToken });
      expect(performance.now() - started).toBeLessThan(300 + 700);
      expect(waiting.status).toBe(503);
      expect(waiting.errors?.map((error) => error.extensions)).toEqual([{ code: 'SERVICE_UNAVAILABLE', reason: 'DATABASE_BUSY' }]);
      await holder.query('ROLLBACK');
      expectNoErrors(await stuck); // released before its lock timeout: it answers
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
    const metrics = await gw.yoga.fetch('http://gateway.test/metrics', {
      headers: { authorization: `Bearer ${await gw.operator.token()}` },
    });
    expect(await metrics.text()).toContain('fleetgate_database_busy_total{limit="pool_timeout"} 1');
  });
});
