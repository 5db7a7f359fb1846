import pg from 'pg';
import { v7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TENANT_SETTING } from '../src/db/request-scope.ts';
import { graphql } from './gql/index.ts';
import { adminQuery } from './support/database.ts';
import { errorCodes, expectNoErrors, type Gateway, replicaCanary, startGateway } from './support/gateway.ts';

/**
 * The isolation canary's history (isolation_canary_runs, migration 0037): every run of every replica
 * kept and pruned by the canary; operators read it whole, a tenant's owners and admins read when and
 * how runs ended, and nobody else reads it; a finding is stored as a fixed code, never its text.
 */
const OperatorRuns = graphql(`
  query OperatorCanaryRuns($first: Int, $after: String, $last: Int, $before: String, $region: String) {
    isolationCanaryRuns(first: $first, after: $after, last: $last, before: $before, region: $region) {
      edges { cursor node { ranAt outcome durationMs replica reason } }
      pageInfo { hasNextPage hasPreviousPage endCursor }
    }
  }
`);

const TenantRuns = graphql(`
  query TenantCanaryRuns($first: Int, $after: String, $region: String) {
    isolationCanaryRuns(first: $first, after: $after, region: $region) {
      edges { cursor node { ranAt outcome durationMs } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

const TenantAsksReplica = graphql(`
  query TenantAsksCanaryReplica { isolationCanaryRuns(first: 5) { edges { node { ranAt replica } } } }
`);

const TenantAsksReason = graphql(`
  query TenantAsksCanaryReason { isolationCanaryRuns(first: 5) { edges { node { ranAt reason } } } }
`);

const LastRun = graphql(`query CanaryLastRun { isolationCanary { ranAt outcome durationMs } }`);

async function storedRuns(gw: Gateway) {
  return (
    await adminQuery<{ replica: string; outcome: string; reason: string | null }>(
      gw.database.adminUrl,
      'select replica, outcome, reason from isolation_canary_runs order by id',
    )
  ).rows;
}

describe('the canary history', () => {
  let gw: Gateway;
  let operator: string;
  let acme: Awaited<ReturnType<Gateway['seed']['tenant']>>;

  beforeAll(async () => {
    gw = await startGateway({ canary: true, replicaName: 'replica-a' });
    operator = await gw.operator.token();
    acme = await gw.seed.tenant();
    await gw.fleetgate.canary.runOnce();
    await replicaCanary(gw, 'replica-b').runOnce();
    await gw.fleetgate.canary.runOnce();
  });
  afterAll(() => gw?.close());

  test('every run of every replica is kept, newest first; operators see replica names', async () => {
    expect(await storedRuns(gw)).toEqual([
      { replica: 'replica-a', outcome: 'OK', reason: null }, // at start
      { replica: 'replica-a', outcome: 'OK', reason: null },
      { replica: 'replica-b', outcome: 'OK', reason: null },
      { replica: 'replica-a', outcome: 'OK', reason: null },
    ]);
    const { isolationCanaryRuns } = expectNoErrors(await gw.execute(OperatorRuns, { first: 10 }, { token: operator }));
    const runs = isolationCanaryRuns.edges.map((edge) => edge.node);
    expect(runs.map((run) => run.replica)).toEqual(['replica-a', 'replica-b', 'replica-a', 'replica-a']);
    expect(runs.every((run) => run.outcome === 'OK' && run.reason === null && run.durationMs >= 0)).toBe(true);
    const times = runs.map((run) => Date.parse(run.ranAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    // isolationCanary still answers this replica's last run, for every member.
    const viewer = await acme.member('VIEWER');
    const { isolationCanary } = expectNoErrors(await gw.execute(LastRun, {}, { token: viewer.token }));
    expect(isolationCanary).toMatchObject({ outcome: 'OK', ranAt: runs[0]?.ranAt });
  });

  test('pages go back in time with first/after and forward with last/before', async () => {
    const page = async (variables: Parameters<typeof gw.execute<typeof OperatorRuns>>[1]) =>
      expectNoErrors(await gw.execute(OperatorRuns, variables, { token: operator })).isolationCanaryRuns;
    const all = (await page({ first: 10 })).edges.map((edge) => edge.cursor);
    const first = await page({ first: 2 });
    expect(first.edges.map((edge) => edge.cursor)).toEqual(all.slice(0, 2));
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await page({ first: 2, after: first.pageInfo.endCursor });
    expect(second.edges.map((edge) => edge.cursor)).toEqual(all.slice(2, 4));
    const newer = await page({ last: 1, before: all[2] });
    expect(newer.edges.map((edge) => edge.cursor)).toEqual([all[1]]);
    expect(errorCodes(await gw.execute(OperatorRuns, { first: 2, after: 'not-a-cursor' }, { token: operator }))).toEqual([
      'BAD_USER_INPUT',
    ]);
  });

  test('owners and admins read when and how runs ended; never the replica or the reason', async () => {
    const admin = await acme.member('ADMIN');
    for (const token of [acme.ownerToken, admin.token]) {
      const { isolationCanaryRuns } = expectNoErrors(await gw.execute(TenantRuns, { first: 10 }, { token }));
      expect(isolationCanaryRuns.edges.map((edge) => edge.node.outcome)).toEqual(['OK', 'OK', 'OK', 'OK']);
      // One refusal per run asked for: the field, not the list, is refused.
      for (const asked of [TenantAsksReplica, TenantAsksReason]) {
        const refused = await gw.execute(asked, {}, { token });
        expect(new Set(errorCodes(refused))).toEqual(new Set(['FORBIDDEN']));
        expect(JSON.stringify(refused)).not.toContain('replica-');
      }
      expect(errorCodes(await gw.execute(TenantRuns, { first: 1, region: 'eu-1' }, { token }))).toEqual(['BAD_USER_INPUT']);
    }
    const second = expectNoErrors(await gw.execute(TenantRuns, { first: 2 }, { token: acme.ownerToken })).isolationCanaryRuns;
    const older = expectNoErrors(
      await gw.execute(TenantRuns, { first: 10, after: second.pageInfo.endCursor }, { token: acme.ownerToken }),
    ).isolationCanaryRuns;
    expect(older.edges).toHaveLength(2);
    expect(older.pageInfo.hasNextPage).toBe(false);
  });

  test('members, viewers and anonymous callers are refused the history', async () => {
    for (const role of ['MEMBER', 'VIEWER'] as const) {
      const member = await acme.member(role);
      expect(errorCodes(await gw.execute(TenantRuns, { first: 5 }, { token: member.token }))).toEqual(['FORBIDDEN']);
    }
    expect(errorCodes(await gw.execute(TenantRuns, { first: 5 }))).toEqual(['UNAUTHENTICATED']);
  });

  test('in the database, a tenant transaction reads no row of the table, only the outcomes function’s four columns', async () => {
    const tenantId = Buffer.from(acme.id, 'base64').toString().split(':')[1] as string;
    const client = new pg.Client({ connectionString: gw.appUrl });
    await client.connect();
    try {
      const inTenant = async <T>(setting: string | null, work: () => Promise<T>) => {
        await client.query('begin');
        try {
          if (setting) await client.query('select set_config($1, $2, true)', [TENANT_SETTING, setting]);
          return await work();
        } finally {
          await client.query('rollback');
        }
      };
      expect(await inTenant(tenantId, async () => (await client.query('select * from isolation_canary_runs')).rowCount)).toBe(0);
      const outcomes = await inTenant(
        tenantId,
        async () => (await client.query('select * from isolation_canary_outcomes(null, null, 10, false)')).rows,
      );
      expect(outcomes).toHaveLength(4);
      expect(Object.keys(outcomes[0] ?? {}).sort()).toEqual(['run_duration_ms', 'run_id', 'run_outcome', 'run_ran_at']);
      expect(
        await inTenant(null, async () => (await client.query('select * from isolation_canary_outcomes(null, null, 10, false)')).rowCount),
      ).toBe(0);
      await expect(
        inTenant(tenantId, () =>
          client.query(
            "insert into isolation_canary_runs (id, replica, outcome, ran_at, duration_ms) values (gen_random_uuid(), 'x', 'OK', now(), 1)",
          ),
        ),
      ).rejects.toThrow(/row-level security/);
      expect(await inTenant(tenantId, async () => (await client.query('delete from isolation_canary_runs')).rowCount)).toBe(0);
    } finally {
      await client.end();
    }
    expect(await storedRuns(gw)).toHaveLength(4);
  });
});

describe('retention and findings', () => {
  let gw: Gateway;
  let operator: string;

  beforeAll(async () => {
    gw = await startGateway({ canary: true, replicaName: 'replica-a', canaryHistory: { days: 30, perReplica: 3 } });
    operator = await gw.operator.token();
  });
  afterAll(() => gw?.close());

  test('the canary prunes its history: runs past the days (any replica’s) and beyond its own newest N', async () => {
    // Ids are time-ordered (uuid v7), as the canary writes them.
    const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000);
    await adminQuery(
      gw.database.adminUrl,
      `insert into isolation_canary_runs (id, replica, outcome, ran_at, duration_ms) values
         ($1, 'gone-replica', 'OK', $2, 5), ($3, 'other-replica', 'OK', $4, 5)`,
      [v7({ msecs: daysAgo(31).getTime() }), daysAgo(31), v7({ msecs: daysAgo(29).getTime() }), daysAgo(29)],
    );
    for (let i = 0; i < 4; i++) await gw.fleetgate.canary.runOnce();
    const rows = await storedRuns(gw);
    expect(rows.map((row) => row.replica)).toEqual(['other-replica', 'replica-a', 'replica-a', 'replica-a']);
  });

  test('a run that could not finish is stored as ERROR with the step that failed', async () => {
    const failing = replicaCanary(gw, 'replica-c', {
      fetch: () => Promise.reject(new Error('the API is unreachable from the canary')),
    });
    expect(await failing.runOnce()).toEqual({ exposures: [] });
    const { isolationCanaryRuns } = expectNoErrors(await gw.execute(OperatorRuns, { first: 1 }, { token: operator }));
    expect(isolationCanaryRuns.edges[0]?.node).toMatchObject({ replica: 'replica-c', outcome: 'ERROR', reason: 'API_PROBE_FAILED' });
  });

  test('an exposure is stored as its code: the table it names stays in the logs and the audit', async () => {
    await adminQuery(gw.database.adminUrl, 'alter table api_keys no force row level security');
    expect((await gw.fleetgate.canary.runOnce()).exposures).toEqual(['RLS not enabled and forced on api_keys']);
    const { isolationCanaryRuns } = expectNoErrors(await gw.execute(OperatorRuns, { first: 1 }, { token: operator }));
    expect(isolationCanaryRuns.edges[0]?.node).toMatchObject({ replica: 'replica-a', outcome: 'EXPOSED', reason: 'RLS_NOT_FORCED' });
    const { rows } = await adminQuery(gw.database.adminUrl, 'select * from isolation_canary_runs');
    expect(JSON.stringify(rows)).not.toContain('api_keys');
    expect(gw.logs()).toContain('api_keys');
  });
});
