import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import manifest from '../src/generated/operations/persisted-documents.json' with { type: 'json' };
import { decodeGlobalId, encodeGlobalId } from '../src/shared/global-id.ts';
import { adminQuery } from './support/database.ts';
import { expectNoErrors, type Gateway, startGateway, startSecondReplica } from './support/gateway.ts';
import { DeleteAgent, RestartAgent, RunTask } from './support/operations.ts';
import { finalErrorCode, type Subscription, subscribe } from './support/sse.ts';
import { waitUntil } from './support/wait.ts';

const AGENT = 'subscription ($agentId: ID!) { agentStatusChanged(agentId: $agentId) { agentId status at } }';
const TASK = 'subscription ($taskId: ID!) { taskUpdated(taskId: $taskId) { taskId agentId status at } }';
const TENANT = 'subscription { tenantStatus { status at } }';
const REMOVE_MEMBER = 'mutation ($input: RemoveMemberInput!) { removeMember(input: $input) }';
const URL = 'http://gateway.test/graphql';

/** agentStatusChanged as the platform app publishes it: API keys run only published documents. */
const AGENT_BY_HASH = {
  documentId: Object.keys(manifest).find((hash) =>
    manifest[hash as keyof typeof manifest].startsWith('subscription AgentStatusChanged'),
  ) as string,
};
const uuidOf = (globalId: string) => (decodeGlobalId(globalId) as { id: string }).id;
/** The agentStatusChanged events of a stream (its final error, if any, left out). */
const agentEvents = (stream: Subscription) =>
  stream.results.flatMap((result) => (result.data ? [result.data.agentStatusChanged as { agentId: string; status: string }] : []));

describe('live updates (subscriptions over SSE)', () => {
  let gw: Gateway;
  const open: Subscription[] = [];
  const sub = async (query: string | { documentId: string }, variables: Record<string, unknown>, token: string) => {
    const subscription = await subscribe((url, init) => gw.yoga.fetch(url, init), URL, query, variables, token);
    open.push(subscription);
    return subscription;
  };
  /** A status change made in SQL by hand, as the trigger sees any other. */
  const setStatus = (agentId: string, status: string) =>
    adminQuery(gw.database.adminUrl, 'update agents set status = $1 where id = $2', [status, uuidOf(agentId)]);

  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await Promise.all(open.map((each) => each.close()));
    await gw?.close();
  });

  test("subscribing to another tenant's agent or task is refused exactly like a missing id", async () => {
    const a = await gw.seed.tenant();
    const b = await gw.seed.tenant();
    const bAgent = await b.agent();
    const { runTask } = expectNoErrors(await gw.execute(RunTask, { agentId: bAgent.id, input: 'x' }, { token: b.ownerToken }));
    const foreign = await sub(AGENT, { agentId: bAgent.id }, a.ownerToken);
    const foreignTask = await sub(TASK, { taskId: runTask.task.id }, a.ownerToken);
    const missing = await sub(AGENT, { agentId: encodeGlobalId('Agent', randomUUID()) }, a.ownerToken);
    await foreign.until((event) => event.event === 'complete');
    await foreignTask.until((event) => event.event === 'complete');
    await missing.until((event) => event.event === 'complete');
    expect(foreign.results).toEqual([{ errors: [{ message: 'Agent not found', extensions: { code: 'NOT_FOUND' } }] }]);
    expect(foreignTask.results).toEqual([{ errors: [{ message: 'Task not found', extensions: { code: 'NOT_FOUND' } }] }]);
    // Another tenant's id and a missing one: the same status, the same events.
    expect(foreign.status).toBe(missing.status);
    expect(missing.results).toEqual(foreign.results);
    // The probe is on A's record, as a query's would be; B's record stays clean.
    const denied = (tenant: typeof a) =>
      adminQuery(gw.database.adminUrl, "select action, target_id from audit_events where tenant_id = $1 and outcome = 'DENIED'", [
        uuidOf(tenant.id),
      ]);
    await waitUntil(async () => (await denied(a)).rows.length >= 3, 5_000, "A's denied events");
    expect((await denied(a)).rows).toEqual(
      expect.arrayContaining([{ action: 'Subscription.agentStatusChanged', target_id: uuidOf(bAgent.id) }]),
    );
    expect((await denied(b)).rows).toEqual([]);
  });

  test('only principals the matching query admits may subscribe: anonymous callers are UNAUTHENTICATED, operators FORBIDDEN, a viewer may', async () => {
    const a = await gw.seed.tenant();
    const agent = await a.agent();
    const viewer = await a.member('VIEWER');
    const anonymous = await sub(AGENT, { agentId: agent.id }, '');
    const operator = await sub(TENANT, {}, await gw.operator.token());
    const byViewer = await sub(AGENT, { agentId: agent.id }, viewer.token);
    await anonymous.until((event) => event.event === 'complete');
    await operator.until((event) => event.event === 'complete');
    await byViewer.nth(1);
    expect(finalErrorCode(anonymous)).toBe('UNAUTHENTICATED');
    expect(finalErrorCode(operator)).toBe('FORBIDDEN');
    expect(byViewer.results[0]?.data).toMatchObject({ agentStatusChanged: { agentId: agent.id, status: 'PROVISIONING' } });
  });

  test("under 200 interleaved changes of A's and B's agents, A's stream carries only A's, B's only B's", async () => {
    const a = await gw.seed.tenant();
    const b = await gw.seed.tenant();
    const [aAgent, bAgent] = [await a.agent(), await b.agent()];
    const aStream = await sub(AGENT, { agentId: aAgent.id }, a.ownerToken);
    const bStream = await sub(AGENT, { agentId: bAgent.id }, b.ownerToken);
    await aStream.until((event) => event.event === 'next');
    await bStream.until((event) => event.event === 'next');
    const statuses = ['RUNNING', 'STOPPED'];
    const client = new pg.Client({ connectionString: gw.database.adminUrl });
    await client.connect();
    try {
      for (let i = 0; i < 200; i += 1) {
        const agent = i % 2 === 0 ? aAgent : bAgent;
        await client.query('update agents set status = $1 where id = $2', [statuses[Math.floor(i / 2) % 2], uuidOf(agent.id)]);
      }
      // A notification naming A's agent but B's tenant (forged by hand): the per-event check withholds it.
      await client.query('select pg_notify($1, $2)', [
        'fleetgate_live',
        JSON.stringify({
          kind: 'agent',
          tenantId: uuidOf(b.id),
          id: uuidOf(aAgent.id),
          agentId: uuidOf(aAgent.id),
          status: 'FAILED',
          at: new Date(),
        }),
      ]);
    } finally {
      await client.end();
    }
    await aStream.until(() => aStream.results.length >= 101);
    await bStream.until(() => bStream.results.length >= 101);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const agentIds = (stream: Subscription) => new Set(agentEvents(stream).map((event) => event.agentId));
    expect(aStream.results).toHaveLength(101); // its status at subscribe time, then its 100 changes
    expect(bStream.results).toHaveLength(101);
    expect(agentIds(aStream)).toEqual(new Set([aAgent.id]));
    expect(agentIds(bStream)).toEqual(new Set([bAgent.id]));
    expect(agentEvents(aStream).some((event) => event.status === 'FAILED')).toBe(false);
  });

  test('a freeze closes every stream of the tenant within one second, with a final TENANT_FROZEN error', async () => {
    const a = await gw.seed.tenant();
    const agent = await a.agent();
    const agentStream = await sub(AGENT, { agentId: agent.id }, a.ownerToken);
    const tenantStream = await sub(TENANT, {}, a.ownerToken);
    await tenantStream.until((event) => event.event === 'next');
    expect(tenantStream.results[0]?.data).toMatchObject({ tenantStatus: { status: 'ACTIVE' } });
    const frozenAt = performance.now();
    await gw.operator.freeze(a.id);
    const ended = await agentStream.until((event) => event.event === 'complete');
    await tenantStream.until((event) => event.event === 'complete');
    console.log(`stream closed ${Math.round(ended.at - frozenAt)} ms after the freeze`);
    expect(ended.at - frozenAt).toBeLessThan(1_000);
    expect(finalErrorCode(agentStream)).toBe('TENANT_FROZEN');
    expect(tenantStream.results.map((result) => result.data?.tenantStatus ?? result.errors?.[0]?.extensions?.code)).toEqual([
      expect.objectContaining({ status: 'ACTIVE' }),
      expect.objectContaining({ status: 'FROZEN' }),
      'TENANT_FROZEN',
    ]);
    // Frozen, it cannot subscribe again.
    const again = await sub(TENANT, {}, a.ownerToken);
    expect(again.status).toBe(403);
    await gw.operator.unfreeze(a.id);
  });

  test("a deletion request ends the tenant's streams, the owner's too, after the DELETION_PENDING status", async () => {
    const a = await gw.seed.tenant();
    const agent = await a.agent();
    const member = await a.member('MEMBER');
    const ownerStatus = await sub(TENANT, {}, a.ownerToken);
    const memberAgent = await sub(AGENT, { agentId: agent.id }, member.token);
    await ownerStatus.nth(1);
    await memberAgent.nth(1);
    const requested = await gw.yoga.fetch(URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${a.ownerToken}` },
      body: JSON.stringify({ query: 'mutation { requestTenantDeletion { status } }' }),
    });
    expect(((await requested.json()) as { errors?: unknown }).errors).toBeUndefined();
    await ownerStatus.until((event) => event.event === 'complete');
    await memberAgent.until((event) => event.event === 'complete');
    expect(ownerStatus.results.map((result) => result.data?.tenantStatus ?? result.errors?.[0]?.extensions?.code)).toEqual([
      expect.objectContaining({ status: 'ACTIVE' }),
      expect.objectContaining({ status: 'DELETION_PENDING' }),
      'TENANT_DELETION_PENDING',
    ]);
    expect(finalErrorCode(memberAgent)).toBe('TENANT_DELETION_PENDING');
  });

  test("removing a member closes that member's streams within one second, and no one else's", async () => {
    const a = await gw.seed.tenant();
    const agent = await a.agent();
    const member = await a.member('MEMBER');
    const memberStream = await sub(AGENT, { agentId: agent.id }, member.token);
    const ownerStream = await sub(AGENT, { agentId: agent.id }, a.ownerToken);
    await memberStream.until((event) => event.event === 'next');
    await ownerStream.until((event) => event.event === 'next');
    const removedAt = performance.now();
    const removed = await gw.yoga.fetch(URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${a.ownerToken}` },
      body: JSON.stringify({ query: REMOVE_MEMBER, variables: { input: { userId: member.id } } }),
    });
    expect(((await removed.json()) as { errors?: unknown }).errors).toBeUndefined();
    const ended = await memberStream.until((event) => event.event === 'complete');
    expect(ended.at - removedAt).toBeLessThan(1_000);
    expect(finalErrorCode(memberStream)).toBe('UNAUTHENTICATED');
    await setStatus(agent.id, 'FAILED');
    await ownerStream.until(() => ownerStream.results.length === 2);
    expect(ownerStream.ended).toBe(false);
    expect(ownerStream.results[1]?.data).toMatchObject({ agentStatusChanged: { status: 'FAILED' } });
  });

  test("deleting the agent ends its streams and its tasks' with AGENT_DELETED", async () => {
    const a = await gw.seed.tenant();
    const agent = await a.agent();
    const { runTask } = expectNoErrors(await gw.execute(RunTask, { agentId: agent.id, input: 'x' }, { token: a.ownerToken }));
    const agentStream = await sub(AGENT, { agentId: agent.id }, a.ownerToken);
    const taskStream = await sub(TASK, { taskId: runTask.task.id }, a.ownerToken);
    await taskStream.until((event) => event.event === 'next');
    expect(taskStream.results[0]?.data).toMatchObject({ taskUpdated: { taskId: runTask.task.id, agentId: agent.id, status: 'QUEUED' } });
    expectNoErrors(await gw.execute(DeleteAgent, { id: agent.id }, { token: a.ownerToken }));
    await agentStream.until((event) => event.event === 'complete');
    await taskStream.until((event) => event.event === 'complete');
    expect(finalErrorCode(agentStream)).toBe('AGENT_DELETED');
    expect(finalErrorCode(taskStream)).toBe('AGENT_DELETED');
  });

  test('when the change feed is lost, every stream ends with SERVICE_UNAVAILABLE; an API key subscribes like a user', async () => {
    const a = await gw.seed.tenant();
    const agent = await a.agent();
    const key = await a.apiKey(['AGENTS_READ']);
    const byKey = await sub(AGENT_BY_HASH, { agentId: agent.id }, key.key);
    const byOwner = await sub(TENANT, {}, a.ownerToken);
    await byKey.nth(1);
    await byOwner.nth(1);
    const lostAt = performance.now();
    await adminQuery(
      gw.database.adminUrl,
      "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'fleetgate-change-feed' and datname = current_database()",
    );
    const ended = await byKey.until((event) => event.event === 'complete');
    await byOwner.until((event) => event.event === 'complete');
    expect(ended.at - lostAt).toBeLessThan(1_000);
    expect(finalErrorCode(byKey)).toBe('SERVICE_UNAVAILABLE');
    expect(finalErrorCode(byOwner)).toBe('SERVICE_UNAVAILABLE');
    // The feed comes back by itself, and subscriptions with it.
    await waitUntil(() => gw.fleetgate.watcher.isCurrent(), 10_000, 'the feed back');
    const again = await sub(AGENT_BY_HASH, { agentId: agent.id }, key.key);
    await again.nth(1);
    expect(again.results[0]?.data).toMatchObject({ agentStatusChanged: { agentId: agent.id } });
  });

  test("an enterprise tenant's changes, in its own schema, reach its streams too", async () => {
    const e = await gw.seed.tenant(undefined, { enterpriseBy: await gw.operator.token() });
    const agent = await e.agent();
    const stream = await sub(AGENT, { agentId: agent.id }, e.ownerToken);
    await stream.nth(1);
    expectNoErrors(await gw.execute(DeleteAgent, { id: agent.id }, { token: e.ownerToken }));
    await stream.until((event) => event.event === 'complete');
    expect(finalErrorCode(stream)).toBe('AGENT_DELETED');
  });

  test('an upgrade to the enterprise tier moves the agent without ending its streams (regression: the move read as a deletion)', async () => {
    const a = await gw.seed.tenant();
    const agent = await a.agent();
    const stream = await sub(AGENT, { agentId: agent.id }, a.ownerToken);
    await stream.nth(1);
    const upgraded = await gw.yoga.fetch(URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await gw.operator.token()}` },
      body: JSON.stringify({ query: 'mutation ($id: ID!) { upgradeTenantToEnterprise(id: $id) { plan } }', variables: { id: a.id } }),
    });
    expect(((await upgraded.json()) as { errors?: unknown }).errors).toBeUndefined();
    const schema = (await adminQuery(gw.database.adminUrl, 'select tenant_schema_name($1) as name', [uuidOf(a.id)])).rows[0]?.name;
    await adminQuery(gw.database.adminUrl, `update ${schema}.agents set status = 'FAILED' where id = $1`, [uuidOf(agent.id)]);
    await stream.nth(2);
    expect(stream.results[1]?.data).toMatchObject({ agentStatusChanged: { agentId: agent.id, status: 'FAILED' } });
    expect(stream.ended).toBe(false);
  });

  test('a rolled-back change is never published', async () => {
    const a = await gw.seed.tenant();
    const agent = await a.agent();
    const stream = await sub(AGENT, { agentId: agent.id }, a.ownerToken);
    await stream.until((event) => event.event === 'next');
    const client = new pg.Client({ connectionString: gw.database.adminUrl });
    await client.connect();
    await client.query('begin');
    await client.query("update agents set status = 'RUNNING' where id = $1", [uuidOf(agent.id)]);
    await client.query('rollback');
    await client.query("update agents set status = 'STOPPED' where id = $1", [uuidOf(agent.id)]);
    await client.end();
    await stream.until(() => stream.results.length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Nor the agent's creation again: its notification may come after the stream's read, which saw it (regression: CI).
    expect(agentEvents(stream).map((event) => event.status)).toEqual(['PROVISIONING', 'STOPPED']);
  });

  test('a change committed while the subscription reads is sent, after the status the read saw (regression: heard before the stream was registered, it was lost)', async () => {
    const a = await gw.seed.tenant();
    const agent = await a.agent();
    // The read's transaction takes its snapshot at its first statement (the token's check), then waits on the agents table.
    const holder = new pg.Client({ connectionString: gw.database.adminUrl });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query('lock table agents in access exclusive mode');
      // The stream answers once its read has ended, so it is awaited after the commit.
      const opening = sub(AGENT, { agentId: agent.id }, a.ownerToken);
      // This database's agents table only: the other test files' databases, made from one template, have the same oids.
      const waiting =
        "select 1 from pg_locks where database = (select oid from pg_database where datname = current_database()) and relation = 'agents'::regclass and not granted";
      await waitUntil(
        async () => (await adminQuery(gw.database.adminUrl, waiting)).rows.length > 0,
        5_000,
        'the read waiting on the agents table',
      );
      await holder.query("update agents set status = 'RUNNING' where id = $1", [uuidOf(agent.id)]);
      await holder.query('commit');
      const stream = await opening;
      await stream.until(() => stream.results.length >= 2);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(agentEvents(stream).map((event) => event.status)).toEqual(['PROVISIONING', 'RUNNING']);
    } finally {
      await holder.end();
    }
  });

  test('a change heard while a stream opens is sent if its read did not see it, and never if it did', async () => {
    const a = await gw.seed.tenant();
    const agent = await a.agent();
    const id = uuidOf(agent.id);
    const live = gw.fleetgate.live;
    // LiveUpdates alone, with reads written here (an admin connection: this is about order, not authorization).
    const subscriber = {
      principal: { kind: 'user' as const, tenantId: uuidOf(a.id), userId: randomUUID(), role: 'OWNER' as const },
      stillLive: async () => true,
    };
    const topic = { topic: `agent:${id}` as const, eventOf: (change: { status: string }) => change.status };
    // A stream without a snapshot: once it has a change, LiveUpdates has heard it.
    const watcher = await live.open(subscriber, async () => topic);
    /** Waits until the watcher has had `status` (the agent's creation may come first, or not: it may have been heard before it opened). */
    const heard = async (status: string) => {
      for (let next = await watcher.next(); !next.done; next = await watcher.next()) {
        if ((next.value as { event: string }).event === status) return;
      }
      throw new Error(`the watcher ended before ${status}`);
    };
    const reader = new pg.Client({ connectionString: gw.database.adminUrl });
    await reader.connect();
    const readAtSnapshot = async () => {
      await reader.query('begin isolation level repeatable read');
      const { rows } = await reader.query<{ status: string; snapshot: string }>(
        'select status, pg_current_snapshot()::text as snapshot from agents where id = $1',
        [id],
      );
      return rows[0] as { status: string; snapshot: string };
    };
    try {
      // Committed after the read's snapshot, heard before its stream is registered: sent, after what the read saw.
      const unseen = await live.open(subscriber, async () => {
        const read = await readAtSnapshot();
        await setStatus(agent.id, 'RUNNING');
        await heard('RUNNING');
        await reader.query('commit');
        return { ...topic, first: read.status, snapshot: read.snapshot };
      });
      expect([(await unseen.next()).value, (await unseen.next()).value]).toEqual([{ event: 'PROVISIONING' }, { event: 'RUNNING' }]);

      // Committed and heard before the read's snapshot: the read saw it, it is not sent again; the next change is.
      const seen = await live.open(subscriber, async () => {
        await setStatus(agent.id, 'STOPPED');
        await heard('STOPPED');
        const read = await readAtSnapshot();
        await reader.query('commit');
        return { ...topic, first: read.status, snapshot: read.snapshot };
      });
      await setStatus(agent.id, 'FAILED');
      await heard('FAILED');
      expect([(await seen.next()).value, (await seen.next()).value]).toEqual([{ event: 'STOPPED' }, { event: 'FAILED' }]);
      await unseen.return?.();
      await seen.return?.();
    } finally {
      await watcher.return?.();
      await reader.end();
    }
  });

  test('a tenant past its limit of open subscriptions is refused with SUBSCRIPTION_LIMIT; an idle stream is closed with SUBSCRIPTION_ENDED', async () => {
    const limits = gw.fleetgate.live.limits;
    const before = { ...limits };
    limits.perTenant = 2;
    try {
      const a = await gw.seed.tenant();
      const agent = await a.agent();
      const first = await sub(AGENT, { agentId: agent.id }, a.ownerToken);
      await sub(AGENT, { agentId: agent.id }, a.ownerToken);
      const third = await sub(AGENT, { agentId: agent.id }, a.ownerToken);
      await third.until((event) => event.event === 'complete');
      expect(finalErrorCode(third)).toBe('SUBSCRIPTION_LIMIT');
      // Operators see how many are open on the replica.
      const scraped = await gw.fleetgate.metrics.registry.metrics();
      expect(Number(/^fleetgate_live_streams (\d+)$/m.exec(scraped)?.[1])).toBe(gw.fleetgate.live.openStreams);
      expect(gw.fleetgate.live.openStreams).toBeGreaterThanOrEqual(2);
      // Another tenant is not affected.
      const b = await gw.seed.tenant();
      const other = await sub(TENANT, {}, b.ownerToken);
      await other.until((event) => event.event === 'next');
      expect(finalErrorCode(other)).toBeUndefined();
      // A client that goes away frees its place.
      await first.close();
      const fourth = await sub(AGENT, { agentId: agent.id }, a.ownerToken);
      await fourth.until((event) => event.event === 'next');
      expect(finalErrorCode(fourth)).toBeUndefined();
      limits.idleMs = 500;
      await fourth.until((event) => event.event === 'complete', 3_000);
      expect(finalErrorCode(fourth)).toBe('SUBSCRIPTION_ENDED');
    } finally {
      Object.assign(limits, before);
    }
  });

  /** Another replica on the same database, in process. */
  const secondReplica = (mode: 'development' | 'production' = 'development') =>
    startSecondReplica(gw, { policy: { mode, tenantRateLimitPerMinute: 100_000, apiKeyRateLimitPerMinute: 100_000 } });

  test('a change made through replica 1 reaches a subscriber of replica 2', async () => {
    const replica = await secondReplica();
    try {
      const a = await gw.seed.tenant();
      const agent = await a.agent();
      const { runTask } = expectNoErrors(await gw.execute(RunTask, { agentId: agent.id, input: 'x' }, { token: a.ownerToken }));
      const onTwo = (query: string, variables: Record<string, unknown>) =>
        subscribe((url, init) => replica.yoga.fetch(url, init), URL, query, variables, a.ownerToken);
      const agentStream = await onTwo(AGENT, { agentId: agent.id });
      const taskStream = await onTwo(TASK, { taskId: runTask.task.id });
      open.push(agentStream, taskStream);
      await agentStream.until((event) => event.event === 'next');
      await setStatus(agent.id, 'FAILED');
      await agentStream.until(() => agentStream.results.length === 2);
      const restartedAt = performance.now();
      expectNoErrors(await gw.execute(RestartAgent, { id: agent.id }, { token: a.ownerToken }));
      const seen = await agentStream.nth(3);
      console.log(`replica 2 saw replica 1's restart after ${Math.round(seen.at - restartedAt)} ms`);
      expect(agentStream.results[2]?.data).toMatchObject({ agentStatusChanged: { agentId: agent.id, status: 'PROVISIONING' } });
      expectNoErrors(await gw.execute(DeleteAgent, { id: agent.id }, { token: a.ownerToken }));
      await taskStream.until((event) => event.event === 'complete');
      expect(finalErrorCode(taskStream)).toBe('AGENT_DELETED');
    } finally {
      await replica.close();
    }
  });

  test('in production mode a subscription runs by the hash the platform app publishes, and its text is refused', async () => {
    const replica = await secondReplica('production');
    try {
      const a = await gw.seed.tenant();
      const agent = await a.agent();
      expect(AGENT_BY_HASH.documentId).toMatch(/^sha256:/);
      const onProduction = (document: string | { documentId: string }) =>
        subscribe((url, init) => replica.yoga.fetch(url, init), URL, document, { agentId: agent.id }, a.ownerToken);
      const byHash = await onProduction(AGENT_BY_HASH);
      const byText = await onProduction(AGENT);
      open.push(byHash, byText);
      await byHash.nth(1);
      expect(byHash.results[0]?.data).toMatchObject({ agentStatusChanged: { agentId: agent.id, status: 'PROVISIONING' } });
      expect(byText.status).toBe(403);
      expect(finalErrorCode(byText)).toBe('PERSISTED_QUERY_ONLY');
    } finally {
      await replica.close();
    }
  });
});
