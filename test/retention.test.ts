import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tenantSchemaName } from '../src/db/request-scope.ts';
import { applyAuditRetention, runAuditRetention } from '../src/modules/audit/retention.ts';
import { runMemoryMaintenance } from '../src/modules/memory/memory-maintenance.ts';
import { applyTaskHistoryRetention, runTaskHistoryRetention } from '../src/modules/retention/task-history.ts';
import { decodeGlobalId, encodeGlobalId } from '../src/shared/global-id.ts';
import { graphql } from './gql/index.ts';
import { PutMemory, SetMemoryRetention } from './memory-operations.ts';
import { agentWithToken } from './memory-support.ts';
import { seedTenantWithHistory } from './support/audit.ts';
import { adminQuery } from './support/database.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { CreateAgent, DeleteAgent, GrantSupportAccess, VerifyAuditLog } from './support/operations.ts';

const RetentionUpgradeTenant = graphql(`
  mutation RetentionUpgradeTenant($id: ID!) {
    upgradeTenantToEnterprise(id: $id) { id plan }
  }
`);

const SetTaskRetention = graphql(`
  mutation SetTaskRetention($days: Int!) {
    setTaskRetention(days: $days) { tenant { id taskRetentionDays retention { auditDays memoryPurgeDays taskHistoryDays } } }
  }
`);

const TenantRetention = graphql(`
  query TenantRetention {
    tenant { id plan auditRetentionDays memoryRetentionDays taskRetentionDays retention { auditDays memoryPurgeDays taskHistoryDays } }
  }
`);

type Seeded = Awaited<ReturnType<Gateway['seed']['tenant']>>;
const DAY = 86_400_000;
let gw: Gateway;
let operatorToken: string;
const uuidOf = (globalId: string) => decodeGlobalId(globalId).id;
const admin = (sql: string, params: unknown[] = []) => adminQuery(gw.database.adminUrl, sql, params).then((r) => r.rows);
const auditDeps = () => ({ orm: gw.orm, auditKey: gw.keyring.auditKey, log: gw.log });
const taskDeps = () => ({ orm: gw.orm, log: gw.log });

beforeAll(async () => {
  gw = await startGateway();
  operatorToken = (await gw.tokens.issue({ kind: 'operator', operatorId: 'op' })).reveal();
});
afterAll(() => gw?.close());

/** Where a tenant's rows are: its own schema (enterprise) or the shared tables. */
async function tierOf(tenantId: string): Promise<string> {
  const [row] = await admin('select plan from tenants where id = $1', [tenantId]);
  return row?.plan === 'ENTERPRISE' ? tenantSchemaName(tenantId) : 'public';
}

/** Runs statements as the gateway's role (RLS, no superuser) in a transaction bound to `tenantId`, then rolls back. */
async function asApp(tenantId: string | null, statements: [string, unknown[]][], options: { operator?: boolean } = {}) {
  const client = new pg.Client({ connectionString: gw.appUrl });
  await client.connect();
  try {
    await client.query('begin');
    if (tenantId) {
      await client.query("select set_config('app.tenant_id', $1, true), set_config('search_path', $2, true)", [
        tenantId,
        `${tenantSchemaName(tenantId)}, public`,
      ]);
    }
    if (options.operator) await client.query("select set_config('app.operator', 'on', true)");
    const results = [];
    for (const [sql, params] of statements) results.push((await client.query(sql, params)).rows);
    return results;
  } finally {
    await client.query('rollback').catch(() => undefined);
    await client.end();
  }
}

describe('audit retention on both tiers', () => {
  /** A tenant whose log holds 50 events from 400 days ago and one fresh event; upgraded to enterprise when asked. */
  async function oldTenant(options: { enterprise?: boolean } = {}) {
    const { tenantId, ownerId } = await seedTenantWithHistory(gw.database.adminUrl, { count: 50, daysAgo: 400 });
    const token = (await gw.tokens.issue({ kind: 'user', tenantId, userId: ownerId, role: 'OWNER' })).reveal();
    expectNoErrors(await gw.execute(CreateAgent, { input: { name: 'fresh', image: 'fleetgate/agent:1' } }, { token }));
    if (options.enterprise) {
      const id = encodeGlobalId('Tenant', tenantId);
      expectNoErrors(await gw.execute(RetentionUpgradeTenant, { id }, { token: operatorToken }));
    }
    return { tenantId, token };
  }

  async function log(tenantId: string) {
    const schema = await tierOf(tenantId);
    const events = await admin(
      `select seq::text, encode(hash, 'hex') as hash from ${schema}.audit_events where tenant_id = $1 order by audit_events.seq`,
      [tenantId],
    );
    const checkpoints = await admin(
      `select seq::text from ${schema}.audit_checkpoints where tenant_id = $1 order by audit_checkpoints.seq`,
      [tenantId],
    );
    return { schema, events, checkpoints: checkpoints.map((row) => row.seq) };
  }

  const verify = async (token: string) => expectNoErrors(await gw.execute(VerifyAuditLog, {}, { token })).verifyAuditLog;

  test("an enterprise tenant's old events go behind a signed checkpoint in its own schema and its chain verifies; a standard tenant's log is untouched, and vice versa", async () => {
    const ent = await oldTenant({ enterprise: true });
    const std = await oldTenant();
    const entBefore = await log(ent.tenantId);
    const stdBefore = await log(std.tenantId);
    expect(entBefore.schema).toBe(tenantSchemaName(ent.tenantId));
    expect(entBefore.events.map((e) => e.seq).slice(-3)).toEqual(['50', '51', '52']); // 51: the fresh agent, 52: the upgrade
    expect(stdBefore.events).toHaveLength(51);

    // Regression (issue 8): audit_drop_through() looked for the checkpoint in public.audit_checkpoints
    // only, so an enterprise tenant's retention was always refused and its events were never dropped.
    expect(await applyAuditRetention(auditDeps(), ent.tenantId)).toEqual({
      tenantId: ent.tenantId,
      status: 'dropped',
      throughSeq: '50',
      dropped: 50,
    });
    const entAfter = await log(ent.tenantId);
    expect(entAfter.events.map((e) => e.seq)).toEqual(['51', '52', '53']); // 53: the retention event itself
    expect(entAfter.checkpoints).toEqual(['50']);
    expect(await verify(ent.token)).toMatchObject({ intact: true, firstSeq: '51', lastSeq: '53', checkpointSeq: '50', eventsChecked: 3 });
    // Nothing of the enterprise tenant reached the shared tables, and the standard tenant's log is as it was.
    expect(await admin('select count(*)::int as n from public.audit_checkpoints where tenant_id = $1', [ent.tenantId])).toEqual([{ n: 0 }]);
    expect(await log(std.tenantId)).toEqual(stdBefore);

    // And the other way round.
    expect(await applyAuditRetention(auditDeps(), std.tenantId)).toMatchObject({ status: 'dropped', throughSeq: '50', dropped: 50 });
    expect((await log(std.tenantId)).events.map((e) => e.seq)).toEqual(['51', '52']);
    expect(await verify(std.token)).toMatchObject({ intact: true, checkpointSeq: '50' });
    expect(await log(ent.tenantId)).toEqual(entAfter);

    // The enterprise chain goes on after the cut.
    expectNoErrors(await gw.execute(CreateAgent, { input: { name: 'later', image: 'fleetgate/agent:1' } }, { token: ent.token }));
    expect(await verify(ent.token)).toMatchObject({ intact: true, lastSeq: '54', checkpointSeq: '50' });
  });

  test('the job covers both tiers; young logs, enterprise or not, are left alone', async () => {
    const ent = await oldTenant({ enterprise: true });
    const young = await gw.seed.tenant('young-ent', { enterpriseBy: operatorToken });
    await young.agent();
    const youngBefore = await log(uuidOf(young.id));
    const outcomes = await runAuditRetention(auditDeps());
    expect(outcomes).toContainEqual({ tenantId: ent.tenantId, status: 'dropped', throughSeq: '50', dropped: 50 });
    expect(outcomes).toContainEqual({ tenantId: uuidOf(young.id), status: 'nothing-to-drop' });
    expect(await log(uuidOf(young.id))).toEqual(youngBefore);
  });

  test('in a tenant schema the deletion path keeps its rules: its own tenant only, a matching checkpoint, old events only', async () => {
    const ent = await oldTenant({ enterprise: true });
    const other = await oldTenant({ enterprise: true });
    const schema = tenantSchemaName(ent.tenantId);
    await expect(asApp(ent.tenantId, [['select audit_drop_through($1, 50)', [ent.tenantId]]])).rejects.toThrow(/no checkpoint/);
    await expect(asApp(ent.tenantId, [['select audit_drop_through($1, 50)', [other.tenantId]]])).rejects.toThrow(/not the current tenant/);
    // A checkpoint the app role writes itself at a young event does not make it droppable.
    const [young] = await admin(`select encode(hash, 'hex') as hash from ${schema}.audit_events where seq = 51`);
    await expect(
      asApp(ent.tenantId, [
        [
          `insert into audit_checkpoints (tenant_id, seq, hash, key_id, signature) values ($1, 51, decode($2, 'hex'), 'k', sha512('x'))`,
          [ent.tenantId, young?.hash],
        ],
        ['select audit_drop_through($1, 51)', [ent.tenantId]],
      ]),
    ).rejects.toThrow(/within retention/);
    // Pointing the search path at the shared tables changes nothing: the tier comes from the tenant's plan.
    const client = new pg.Client({ connectionString: gw.appUrl });
    await client.connect();
    try {
      await client.query('begin');
      await client.query("select set_config('app.tenant_id', $1, true), set_config('search_path', 'public', true)", [ent.tenantId]);
      await expect(client.query('select audit_drop_through($1, 50)', [ent.tenantId])).rejects.toThrow(/no checkpoint/);
    } finally {
      await client.query('rollback');
      await client.end();
    }
    expect((await log(ent.tenantId)).events).toHaveLength(52);
  });
});

describe('task history retention', () => {
  /** Inserts a task of `agentId` in the tenant's tier, with its age in days. */
  async function task(tenantId: string, agentId: string, status: string, days: { created: number; finished?: number }) {
    const schema = await tierOf(tenantId);
    const id = crypto.randomUUID();
    await admin(
      `insert into ${schema}.tasks (id, tenant_id, agent_id, input, status, result, created_by, created_at, finished_at, deadline)
       values ($1, $2, $3, 'ping', $4, $5, 'USER:seed', now() - make_interval(days => $6), $7::timestamptz, now() + interval '1 hour')`,
      [
        id,
        tenantId,
        agentId,
        status,
        days.finished === undefined ? null : 'pong',
        days.created,
        days.finished === undefined ? null : new Date(Date.now() - days.finished * DAY),
      ],
    );
    return id;
  }

  async function tasksOf(tenantId: string) {
    const schema = await tierOf(tenantId);
    return (await admin(`select id::text from ${schema}.tasks where tenant_id = $1`, [tenantId])).map((row) => row.id as string).sort();
  }

  /** A tenant with an agent and one task of every kind: finished long ago, finished recently, and open. */
  async function tenantWithHistory(name: string, enterprise: boolean) {
    const tenant = await gw.seed.tenant(name, enterprise ? { enterpriseBy: operatorToken } : {});
    const tenantId = uuidOf(tenant.id);
    const agentId = uuidOf((await tenant.agent()).id);
    const old = [
      await task(tenantId, agentId, 'SUCCEEDED', { created: 120, finished: 100 }),
      await task(tenantId, agentId, 'FAILED', { created: 120, finished: 100 }),
      await task(tenantId, agentId, 'TIMED_OUT', { created: 120, finished: 100 }),
    ];
    const middle = await task(tenantId, agentId, 'SUCCEEDED', { created: 50, finished: 50 });
    const kept = [
      await task(tenantId, agentId, 'SUCCEEDED', { created: 5, finished: 5 }),
      // Open tasks are never deleted, whatever their age.
      await task(tenantId, agentId, 'QUEUED', { created: 1000 }),
      await task(tenantId, agentId, 'RUNNING', { created: 1000 }),
    ];
    return { tenant, tenantId, agentId, old, middle, kept };
  }

  test('finished tasks past the retention are deleted on both tiers; queued and running tasks never; each tenant by its own setting', async () => {
    const std = await tenantWithHistory('tasks-std', false);
    const ent = await tenantWithHistory('tasks-ent', true);
    expectNoErrors(await gw.execute(SetTaskRetention, { days: 30 }, { token: ent.tenant.ownerToken }));
    const young = await gw.seed.tenant('tasks-young');
    const youngTask = await task(uuidOf(young.id), uuidOf((await young.agent()).id), 'SUCCEEDED', { created: 10, finished: 10 });

    const outcomes = await runTaskHistoryRetention(taskDeps());
    expect(outcomes).toContainEqual({ tenantId: std.tenantId, deleted: 3 }); // default 90 days: the 50-day-old task stays
    expect(outcomes).toContainEqual({ tenantId: ent.tenantId, deleted: 4 }); // 30 days
    expect(outcomes.map((outcome) => outcome.tenantId)).not.toContain(uuidOf(young.id));

    expect(await tasksOf(std.tenantId)).toEqual([...std.kept, std.middle].sort());
    expect(await tasksOf(ent.tenantId)).toEqual([...ent.kept].sort());
    expect(await tasksOf(uuidOf(young.id))).toEqual([youngTask]);
    // Each purge is in its tenant's own audit log, in its own tier.
    for (const [tenant, deleted, days] of [
      [std, 3, 90],
      [ent, 4, 30],
    ] as const) {
      const events = await admin(
        `select actor_type, detail from ${await tierOf(tenant.tenantId)}.audit_events where tenant_id = $1 and action = 'task.history.purge'`,
        [tenant.tenantId],
      );
      expect(events).toEqual([{ actor_type: 'SYSTEM', detail: { deleted, retentionDays: days } }]);
    }
    // Nothing is due any more; a second run finds neither tenant.
    const again = await runTaskHistoryRetention(taskDeps());
    expect(again.map((outcome) => outcome.tenantId)).not.toEqual(expect.arrayContaining([std.tenantId]));
    expect(again.map((outcome) => outcome.tenantId)).not.toEqual(expect.arrayContaining([ent.tenantId]));
  });

  test("one tenant's failure is logged and does not stop the others", async () => {
    const broken = await tenantWithHistory('tasks-broken', true);
    const fine = await tenantWithHistory('tasks-fine', false);
    const schema = tenantSchemaName(broken.tenantId);
    await admin(`create function public.test_refuse_task_delete() returns trigger language plpgsql as $$
                 begin raise exception 'refused by the test'; end $$`);
    await admin(
      `create trigger test_refuse before delete on ${schema}.tasks for each row execute function public.test_refuse_task_delete()`,
    );
    try {
      const outcomes = await runTaskHistoryRetention(taskDeps());
      expect(outcomes).toContainEqual({ tenantId: fine.tenantId, deleted: 3 });
      expect(outcomes.map((outcome) => outcome.tenantId)).not.toContain(broken.tenantId);
      expect(await tasksOf(broken.tenantId)).toHaveLength(7); // rolled back whole
      expect(gw.logs()).toMatch(
        new RegExp(`task history retention failed[^\\n]*${broken.tenantId}|${broken.tenantId}[^\\n]*task history retention failed`),
      );
    } finally {
      await admin(`drop trigger test_refuse on ${schema}.tasks`);
      await admin('drop function public.test_refuse_task_delete()');
    }
    expect(await applyTaskHistoryRetention(taskDeps(), broken.tenantId)).toEqual({ tenantId: broken.tenantId, deleted: 3 });
  });

  test('a long history is purged in batches, one transaction and one audit event each, until a batch comes back short', async () => {
    const tenant = await tenantWithHistory('tasks-batches', false);
    for (let i = 0; i < 2; i++) tenant.old.push(await task(tenant.tenantId, tenant.agentId, 'SUCCEEDED', { created: 120, finished: 100 }));
    expect(await applyTaskHistoryRetention(taskDeps(), tenant.tenantId, 2)).toEqual({ tenantId: tenant.tenantId, deleted: 5 });
    expect(await tasksOf(tenant.tenantId)).toEqual([...tenant.kept, tenant.middle].sort());
    const events = await admin(
      "select detail->>'deleted' as deleted from audit_events where tenant_id = $1 and action = 'task.history.purge' order by seq",
      [tenant.tenantId],
    );
    expect(events.map((event) => Number(event.deleted))).toEqual([2, 2, 1]);
    await expect(asApp(tenant.tenantId, [['select purge_task_history($1, 0)', [tenant.tenantId]]])).rejects.toThrow(
      /limit must be positive/,
    );
  });

  test('the database holds the rules whoever calls: own tenant only, operators only for the list, no DELETE for the app role, bounds', async () => {
    const a = await tenantWithHistory('tasks-a', true);
    const b = await tenantWithHistory('tasks-b', false);
    await expect(asApp(a.tenantId, [['select purge_task_history($1, 100)', [b.tenantId]]])).rejects.toThrow(/not the current tenant/);
    await expect(asApp(b.tenantId, [['select purge_task_history($1, 100)', [a.tenantId]]])).rejects.toThrow(/not the current tenant/);
    await expect(asApp(a.tenantId, [['select * from task_history_tenants()', []]])).rejects.toThrow(/operators only/);
    await expect(asApp(a.tenantId, [['delete from tasks', []]])).rejects.toThrow(/permission denied/);
    await expect(asApp(b.tenantId, [['delete from tasks', []]])).rejects.toThrow(/permission denied/);
    await expect(asApp(a.tenantId, [['update tenants set task_retention_days = 0', []]])).rejects.toThrow(/check constraint/);
    await expect(asApp(a.tenantId, [['update tenants set task_retention_days = 3651', []]])).rejects.toThrow(/check constraint/);
    // The operator's list holds tenant ids and nothing else.
    const [rows] = await asApp(null, [['select * from task_history_tenants()', []]], { operator: true });
    expect(rows).toEqual(expect.arrayContaining([{ tenant_id: a.tenantId }, { tenant_id: b.tenantId }]));
    expect(Object.keys(rows?.[0] ?? {})).toEqual(['tenant_id']);
    // Its own purge, run by the app role, deletes only what the retention allows, in its own tier.
    const [[purged]] = (await asApp(a.tenantId, [['select purge_task_history($1, 100)::int as n', [a.tenantId]]])) as [[{ n: number }]];
    expect(purged).toEqual({ n: 3 });
    expect(await tasksOf(b.tenantId)).toHaveLength(7);
  });
});

describe('setting the retention', () => {
  test('owners set the task history retention on both tiers (audited, bounds with a clear error); Tenant.retention shows all three', async () => {
    for (const enterprise of [false, true]) {
      const tenant: Seeded = await gw.seed.tenant(undefined, enterprise ? { enterpriseBy: operatorToken } : {});
      const token = tenant.ownerToken;
      expect(expectNoErrors(await gw.execute(TenantRetention, {}, { token })).tenant).toMatchObject({
        plan: enterprise ? 'ENTERPRISE' : 'STANDARD',
        auditRetentionDays: 365,
        memoryRetentionDays: 30,
        taskRetentionDays: 90,
        retention: { auditDays: 365, memoryPurgeDays: 30, taskHistoryDays: 90 },
      });
      for (const days of [0, 3651, -5]) {
        const response = await gw.execute(SetTaskRetention, { days }, { token });
        expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
        expect(response.errors?.[0]?.message).toBe('Invalid days: must be between 1 and 3650 days');
      }
      for (const role of ['ADMIN', 'MEMBER', 'VIEWER'] as const) {
        const member = await tenant.member(role);
        expect(errorCodes(await gw.execute(SetTaskRetention, { days: 7 }, { token: member.token }))).toEqual(['FORBIDDEN']);
      }
      const apiKey = await tenant.apiKey(['AGENTS_WRITE']);
      expect(errorCodes(await gw.execute(SetTaskRetention, { days: 7 }, { token: apiKey.key }))).toEqual(['PERSISTED_QUERY_ONLY']);
      const { grantSupportAccess } = expectNoErrors(
        await gw.execute(
          GrantSupportAccess,
          { input: { supportPrincipal: 'sam@support.example', reason: 'ticket 8', durationMinutes: 60 } },
          { token },
        ),
      );
      expect(errorCodes(await gw.execute(SetTaskRetention, { days: 7 }, { token: grantSupportAccess.token }))).toEqual(['FORBIDDEN']);
      // Support reads the settings (tenant metadata) but changes none of them.
      expect(expectNoErrors(await gw.execute(TenantRetention, {}, { token: grantSupportAccess.token })).tenant.retention).toEqual({
        auditDays: 365,
        memoryPurgeDays: 30,
        taskHistoryDays: 90,
      });
      expect(errorCodes(await gw.execute(SetTaskRetention, { days: 7 }, { token: operatorToken }))).toEqual(['FORBIDDEN']);

      expect(expectNoErrors(await gw.execute(SetTaskRetention, { days: 14 }, { token })).setTaskRetention.tenant).toMatchObject({
        taskRetentionDays: 14,
        retention: { auditDays: 365, memoryPurgeDays: 30, taskHistoryDays: 14 },
      });
      expectNoErrors(await gw.execute(SetMemoryRetention, { days: 3 }, { token }));
      expect(expectNoErrors(await gw.execute(TenantRetention, {}, { token })).tenant.retention).toEqual({
        auditDays: 365,
        memoryPurgeDays: 3,
        taskHistoryDays: 14,
      });
      const tenantId = uuidOf(tenant.id);
      const events = await admin(
        `select actor_type, detail from ${await tierOf(tenantId)}.audit_events where tenant_id = $1 and action = 'task.retention.set'`,
        [tenantId],
      );
      expect(events).toEqual([{ actor_type: 'USER', detail: { days: 14, previous: 90 } }]);
    }
  });
});

describe('the memory purge window on the enterprise tier', () => {
  test("a deleted agent's memory rows in a tenant schema are purged after that tenant's window, and only its own", async () => {
    const ent = await gw.seed.tenant('mem-ent', { enterpriseBy: operatorToken });
    const std = await gw.seed.tenant('mem-std');
    const schema = tenantSchemaName(uuidOf(ent.id));
    const entAgent = await agentWithToken(gw, ent);
    const entSurvivor = await agentWithToken(gw, ent);
    const stdAgent = await agentWithToken(gw, std);
    for (const agent of [entAgent, entSurvivor, stdAgent]) {
      expectNoErrors(await gw.execute(PutMemory, { input: { key: 'k', value: '1' } }, { token: agent.token }));
    }
    expectNoErrors(await gw.execute(SetMemoryRetention, { days: 2 }, { token: ent.ownerToken }));
    expectNoErrors(await gw.execute(DeleteAgent, { id: entAgent.globalId }, { token: ent.ownerToken }));
    expectNoErrors(await gw.execute(DeleteAgent, { id: stdAgent.globalId }, { token: std.ownerToken }));
    const count = async (rel: string, agentId: string) =>
      (await admin(`select count(*)::int as n from ${rel} where agent_id = $1`, [agentId]))[0]?.n;
    expect(await count(`${schema}.memory_purges`, entAgent.id)).toBe(1);
    expect(await count(`${schema}.agent_memory`, entAgent.id)).toBe(1);

    await runMemoryMaintenance(gw.orm, new Date(Date.now() + 1 * DAY));
    expect(await count(`${schema}.agent_memory`, entAgent.id)).toBe(1);
    await runMemoryMaintenance(gw.orm, new Date(Date.now() + 3 * DAY));
    expect(await count(`${schema}.agent_memory`, entAgent.id)).toBe(0);
    expect(await count(`${schema}.memory_purges`, entAgent.id)).toBe(0);
    expect(await count(`${schema}.agent_memory`, entSurvivor.id)).toBe(1); // a living agent's memory stays
    expect(await count('public.agent_memory', stdAgent.id)).toBe(1); // the standard tenant's window is 30 days
    await runMemoryMaintenance(gw.orm, new Date(Date.now() + 31 * DAY));
    expect(await count('public.agent_memory', stdAgent.id)).toBe(0);
    expect(await count(`${schema}.agent_memory`, entSurvivor.id)).toBe(1);
  });
});

describe('memory maintenance', () => {
  test("one tenant's failure is logged and rolled back; the other tenants are still purged", async () => {
    const broken = await gw.seed.tenant('mem-broken');
    const fine = await gw.seed.tenant('mem-fine');
    const [brokenAgent, fineAgent] = [await agentWithToken(gw, broken), await agentWithToken(gw, fine)];
    for (const [tenant, agent] of [
      [broken, brokenAgent],
      [fine, fineAgent],
    ] as const) {
      expectNoErrors(await gw.execute(PutMemory, { input: { key: 'k', value: '1' } }, { token: agent.token }));
      expectNoErrors(await gw.execute(SetMemoryRetention, { days: 1 }, { token: tenant.ownerToken }));
      expectNoErrors(await gw.execute(DeleteAgent, { id: agent.globalId }, { token: tenant.ownerToken }));
    }
    const rows = async (agentId: string) =>
      (await admin('select count(*)::int as n from public.agent_memory where agent_id = $1', [agentId]))[0]?.n;
    await admin(`create function public.test_refuse_memory_delete() returns trigger language plpgsql as $$
                 begin if OLD.tenant_id = '${uuidOf(broken.id)}' then raise exception 'refused by the test'; end if; return OLD; end $$`);
    await admin(
      'create trigger test_refuse before delete on public.agent_memory for each row execute function public.test_refuse_memory_delete()',
    );
    try {
      const result = await runMemoryMaintenance(gw.orm, new Date(Date.now() + 2 * DAY), gw.log);
      expect(result.failedTenants).toBe(1);
      expect(await rows(fineAgent.id)).toBe(0);
      expect(await rows(brokenAgent.id)).toBe(1); // rolled back whole: its purge is still pending
      expect(gw.logs()).toMatch(
        new RegExp(
          `memory maintenance failed for a tenant[^\\n]*${uuidOf(broken.id)}|${uuidOf(broken.id)}[^\\n]*memory maintenance failed for a tenant`,
        ),
      );
    } finally {
      await admin('drop trigger test_refuse on public.agent_memory');
      await admin('drop function public.test_refuse_memory_delete()');
    }
    expect((await runMemoryMaintenance(gw.orm, new Date(Date.now() + 2 * DAY), gw.log)).failedTenants).toBe(0);
    expect(await rows(brokenAgent.id)).toBe(0);
  });
});
