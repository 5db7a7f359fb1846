import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { adminQuery } from './support/database.ts';
import { expectNoErrors, type Gateway, startGateway, startSecondReplica } from './support/gateway.ts';
import { RestartAgent } from './support/operations.ts';
import { freePorts } from './support/ports.ts';
import { type Replicas, startReplicas } from './support/replicas.ts';
import { finalErrorCode, type Subscription, subscribe } from './support/sse.ts';
import { waitUntil } from './support/wait.ts';

/**
 * Live updates across replicas through Redis (issue 18, REDIS_URL set): one relay per region LISTENs
 * and republishes each committed change on its tenant's channel; every replica subscribes to the
 * channels of the tenants it serves; the per-tenant stream limit counts across replicas.
 */
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const AGENT = 'subscription ($agentId: ID!) { agentStatusChanged(agentId: $agentId) { agentId status at } }';
const URL = 'http://gateway.test/graphql';
const uuidOf = (globalId: string) => (decodeGlobalId(globalId) as { id: string }).id;
const statuses = (stream: Subscription) =>
  stream.results.flatMap((result) => (result.data ? [(result.data.agentStatusChanged as { status: string }).status] : []));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Replica = Awaited<ReturnType<typeof startSecondReplica>>;
type Fleetgate = Pick<Replica, 'yoga' | 'live' | 'liveRedis'>;

/** A Redis client of the test's own (a second subscriber, or someone else writing into Redis). */
function redisClient(url = REDIS_URL): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  return client;
}

/** A deployment name in Redis of this file's own: parallel test files share the one Redis. */
const instanceName = () => `test-${randomBytes(6).toString('hex')}`;

/** Another replica on gw's database, with its own Redis client, in process. */
function secondReplica(gw: Gateway, redis: Redis, instance: string): Promise<Replica> {
  return startSecondReplica(gw, {
    policy: { mode: 'development', tenantRateLimitPerMinute: 100_000, apiKeyRateLimitPerMinute: 100_000, redis },
    liveRedis: { instance },
  });
}

const relaysOf = (...replicas: Fleetgate[]) => replicas.filter((each) => each.liveRedis.relays.some((relay) => relay.relaying));

describe('live updates through Redis: two replicas', () => {
  const instance = instanceName();
  const clients: Redis[] = [];
  let gw: Gateway;
  let two: Replica;
  const open: Subscription[] = [];
  const sub = async (on: Fleetgate, agentId: string, token: string) => {
    const stream = await subscribe((url, init) => on.yoga.fetch(url, init), URL, AGENT, { agentId }, token);
    open.push(stream);
    return stream;
  };
  const client = () => {
    const each = redisClient();
    clients.push(each);
    return each;
  };
  const setStatus = (agentId: string, status: string) =>
    adminQuery(gw.database.adminUrl, 'update agents set status = $1 where id = $2', [status, uuidOf(agentId)]);

  beforeAll(async () => {
    gw = await startGateway({ policy: { redis: client() }, liveRedis: { instance } });
    two = await secondReplica(gw, client(), instance);
    await waitUntil(() => gw.fleetgate.live.available && two.live.available, 10_000, 'both replicas hearing the relay');
  });
  afterAll(async () => {
    await Promise.all(open.map((each) => each.close()));
    await two?.close();
    await gw?.close();
    for (const each of clients) each.disconnect();
  });

  test('exactly one replica relays, and a subscriber on replica 2 receives a change made through replica 1 and one made by plain SQL', async () => {
    expect(relaysOf(gw.fleetgate, two)).toHaveLength(1);
    const locks = await adminQuery(
      gw.database.adminUrl,
      "select count(*)::int as n from pg_locks where locktype = 'advisory' and objid = 7364203 and database = (select oid from pg_database where datname = current_database())",
    );
    expect(locks.rows[0]?.n).toBe(1);
    const a = await gw.seed.tenant();
    const agent = await a.agent();
    const stream = await sub(two, agent.id, a.ownerToken);
    await stream.nth(1);
    await setStatus(agent.id, 'FAILED'); // by hand, as the trigger sees any writer
    await stream.nth(2);
    expectNoErrors(await gw.execute(RestartAgent, { id: agent.id }, { token: a.ownerToken })); // through replica 1's GraphQL
    await stream.nth(3);
    expect(statuses(stream)).toEqual(['PROVISIONING', 'FAILED', 'PROVISIONING']);
    expect(stream.ended).toBe(false);
  });

  test('each committed change is published once (not once per replica), a rolled-back one never, and one relay beats', async () => {
    const a = await gw.seed.tenant();
    const listener = client();
    const messages: string[] = [];
    const beats = new Set<string>();
    listener.on('message', (channel: string, message: string) => {
      if (channel.endsWith(':relay:eu-1')) beats.add(message);
      else messages.push(message);
    });
    await listener.subscribe(`fleetgate:${instance}:live:tenant:${uuidOf(a.id)}`, `fleetgate:${instance}:live:relay:eu-1`);
    const agent = await a.agent(); // its creation is a change too
    const db = new pg.Client({ connectionString: gw.database.adminUrl });
    await db.connect();
    try {
      await db.query('begin');
      await db.query("update agents set status = 'RUNNING' where id = $1", [uuidOf(agent.id)]);
      await db.query('rollback');
      for (let i = 0; i < 20; i += 1) {
        await db.query('update agents set status = $1 where id = $2', [i % 2 === 0 ? 'STOPPED' : 'FAILED', uuidOf(agent.id)]);
      }
    } finally {
      await db.end();
    }
    await waitUntil(() => messages.length >= 21, 10_000, 'twenty-one messages');
    await sleep(2_500); // two replicas, each beating its second: a second relay would show here
    const changes = messages.map((message) => JSON.parse(message) as { tenantId: string; id: string; status: string });
    expect(changes.map((change) => change.status)).toEqual([
      'PROVISIONING',
      ...Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 'STOPPED' : 'FAILED')),
    ]);
    expect(new Set(changes.map((change) => `${change.tenantId}/${change.id}`))).toEqual(new Set([`${uuidOf(a.id)}/${uuidOf(agent.id)}`]));
    expect(beats.size).toBe(1);
    await listener.quit();
  });

  test("under 200 interleaved changes of A and B through Redis, A's stream carries only A's; a message naming B's tenant injected on A's channel is withheld", async () => {
    const a = await gw.seed.tenant();
    const b = await gw.seed.tenant();
    const [aAgent, bAgent] = [await a.agent(), await b.agent()];
    const aStream = await sub(two, aAgent.id, a.ownerToken);
    const bStream = await sub(two, bAgent.id, b.ownerToken);
    await aStream.nth(1);
    await bStream.nth(1);
    const db = new pg.Client({ connectionString: gw.database.adminUrl });
    await db.connect();
    try {
      for (let i = 0; i < 200; i += 1) {
        const agent = i % 2 === 0 ? aAgent : bAgent;
        await db.query('update agents set status = $1 where id = $2', [
          Math.floor(i / 2) % 2 === 0 ? 'RUNNING' : 'STOPPED',
          uuidOf(agent.id),
        ]);
      }
    } finally {
      await db.end();
    }
    await aStream.nth(101);
    await bStream.nth(101);
    // Someone else writes into Redis: A's own agent, on A's own channel, but the change names B's tenant.
    const intruder = client();
    const forged = {
      kind: 'agent',
      tenantId: uuidOf(b.id),
      id: uuidOf(aAgent.id),
      agentId: uuidOf(aAgent.id),
      status: 'FAILED',
      at: new Date(),
    };
    const receivers = await intruder.publish(`fleetgate:${instance}:live:tenant:${uuidOf(a.id)}`, JSON.stringify(forged));
    expect(receivers).toBeGreaterThanOrEqual(1); // replica 2 follows A's channel: the message reached it
    // Then a real change of A's agent, published after the forged one on the same channel: once it is here, so was the forgery.
    await setStatus(aAgent.id, 'RUNNING');
    await aStream.nth(102);
    await sleep(200);
    expect(statuses(aStream)).toHaveLength(102);
    expect(statuses(aStream).includes('FAILED')).toBe(false);
    expect(statuses(aStream).at(-1)).toBe('RUNNING');
    const agentIds = (stream: Subscription) =>
      new Set(stream.results.map((result) => (result.data?.agentStatusChanged as { agentId: string } | undefined)?.agentId));
    expect(agentIds(aStream)).toEqual(new Set([aAgent.id]));
    expect(agentIds(bStream)).toEqual(new Set([bAgent.id]));
    expect(statuses(bStream)).toHaveLength(101);
    expect(gw.logs()).toContain('live change of another tenant withheld');
  });

  test('a replica subscribes only to the channels of tenants whose streams are open on it', async () => {
    const a = await gw.seed.tenant();
    const agent = await a.agent();
    const channel = `fleetgate:${instance}:live:tenant:${uuidOf(a.id)}`;
    const probe = client();
    const subscribers = async () => ((await probe.call('PUBSUB', 'NUMSUB', channel)) as [string, number])[1];
    expect(await subscribers()).toBe(0);
    const stream = await sub(two, agent.id, a.ownerToken);
    await stream.nth(1);
    expect(await subscribers()).toBe(1);
    await stream.close();
    await waitUntil(async () => (await subscribers()) === 0, 5_000, 'the channel unsubscribed');
  });

  test('the per-tenant limit counts the streams of every replica; a lease left by a crashed replica expires', async () => {
    const limits = [gw.fleetgate.live.limits, two.live.limits];
    const before = limits.map((each) => ({ ...each }));
    for (const each of limits) each.perTenant = 2;
    try {
      const a = await gw.seed.tenant();
      const agent = await a.agent();
      const onOne = await sub(gw.fleetgate, agent.id, a.ownerToken);
      const onTwo = await sub(two, agent.id, a.ownerToken);
      await onOne.nth(1);
      await onTwo.nth(1);
      // Each replica holds one: the tenant's third, on either, is refused.
      for (const replica of [gw.fleetgate, two]) {
        const third = await sub(replica, agent.id, a.ownerToken);
        await third.until((event) => event.event === 'complete');
        expect(finalErrorCode(third)).toBe('SUBSCRIPTION_LIMIT');
      }
      // Another tenant is not affected.
      const b = await gw.seed.tenant();
      const other = await sub(two, (await b.agent()).id, b.ownerToken);
      await other.nth(1);
      expect(finalErrorCode(other)).toBeUndefined();
      // A stream closed on replica 1 frees a place on replica 2.
      await onOne.close();
      const key = `fleetgate:${instance}:live:streams:${uuidOf(a.id)}`;
      const redis = client();
      await waitUntil(async () => (await redis.zcard(key)) === 1, 5_000, 'the place freed');
      const again = await sub(two, agent.id, a.ownerToken);
      await again.nth(1);
      expect(finalErrorCode(again)).toBeUndefined();
      await again.close();
      await waitUntil(async () => (await redis.zcard(key)) === 1, 5_000, 'the place freed');
      // The key cannot outlive its last lease.
      expect(await redis.pttl(key)).toBeGreaterThan(0);
      // A crashed replica's lease is never renewed: once it has run out it does not count; one still running does.
      const [seconds] = await redis.time();
      await redis.zadd(key, Number(seconds) * 1000 - 1_000, `crashed-${randomUUID()}`);
      const admitted = await sub(two, agent.id, a.ownerToken);
      await admitted.nth(1);
      expect(finalErrorCode(admitted)).toBeUndefined();
      await admitted.close();
      await waitUntil(async () => (await redis.zcard(key)) === 1, 5_000, 'the expired lease dropped and the place freed');
      await redis.zadd(key, Number(seconds) * 1000 + 60_000, `running-${randomUUID()}`);
      const refused = await sub(two, agent.id, a.ownerToken);
      await refused.until((event) => event.event === 'complete');
      expect(finalErrorCode(refused)).toBe('SUBSCRIPTION_LIMIT');
    } finally {
      for (const [i, each] of limits.entries()) Object.assign(each, before[i]);
    }
  });

  test('a freeze still ends a Redis-fed stream within a second (tenant policy stays on the Postgres feed)', async () => {
    const a = await gw.seed.tenant();
    const agent = await a.agent();
    const stream = await sub(two, agent.id, a.ownerToken);
    await stream.nth(1);
    const frozenAt = performance.now();
    await gw.operator.freeze(a.id);
    const ended = await stream.until((event) => event.event === 'complete');
    expect(ended.at - frozenAt).toBeLessThan(1_000);
    expect(finalErrorCode(stream)).toBe('TENANT_FROZEN');
    await gw.operator.unfreeze(a.id);
  });

  test('the relay losing its Postgres connection loses the lock: another replica relays within seconds', async () => {
    const [relay] = relaysOf(gw.fleetgate, two);
    expect(relay).toBeDefined();
    const a = await gw.seed.tenant();
    const agent = await a.agent();
    const stream = await sub(two, agent.id, a.ownerToken);
    await stream.nth(1);
    const lostAt = performance.now();
    await adminQuery(
      gw.database.adminUrl,
      "select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and objid = 7364203 and database = (select oid from pg_database where datname = current_database())",
    );
    // The relay replica's own feed was lost, so its streams end anyway; the other's end when the new relay beats.
    await stream.until((event) => event.event === 'complete', 10_000);
    expect(finalErrorCode(stream)).toBe('SERVICE_UNAVAILABLE');
    await waitUntil(
      () => relaysOf(gw.fleetgate, two).length === 1 && gw.fleetgate.live.available && two.live.available && two.watcher.isCurrent(),
      10_000,
      'a relay again',
    );
    console.log(`a relay again ${Math.round(performance.now() - lostAt)} ms after the lock's session ended`);
    const again = await sub(two, agent.id, a.ownerToken);
    await again.nth(1);
    await setStatus(agent.id, 'FAILED');
    await again.nth(2);
    expect(statuses(again)).toEqual(['PROVISIONING', 'FAILED']);
  });
});

describe('live updates through Redis: the relay replica crashes', () => {
  const instance = instanceName();
  const clients: Redis[] = [];
  let replicas: Replicas;
  let gw: Gateway;
  let two: Replica;

  beforeAll(async () => {
    // The first replica on the database takes the relay lock: `npm start`, as operators run it, to be killed.
    replicas = await startReplicas(1, { REDIS_URL, FLEETGATE_INSTANCE: instance, AGENT_RUNTIME: 'none' });
    const redis = [redisClient(), redisClient()];
    clients.push(...redis);
    gw = await startGateway({ database: replicas.database, policy: { redis: redis[0] }, liveRedis: { instance } });
    two = await secondReplica(gw, redis[1] as Redis, instance);
    await waitUntil(() => gw.fleetgate.live.available && two.live.available, 10_000, 'both replicas hearing the relay');
  }, 180_000);
  afterAll(async () => {
    await two?.close();
    await gw?.close();
    await replicas?.stop();
    for (const each of clients) each.disconnect();
  });

  test('SIGKILL of the relay: another replica relays within a few seconds, the streams that may have missed changes end, new ones hear changes', async () => {
    expect(relaysOf(gw.fleetgate, two)).toHaveLength(0); // the child process relays
    const a = await gw.seed.tenant();
    const agent = await a.agent();
    const stream = await subscribe((url, init) => two.yoga.fetch(url, init), URL, AGENT, { agentId: agent.id }, a.ownerToken);
    await stream.nth(1);
    await adminQuery(gw.database.adminUrl, "update agents set status = 'RUNNING' where id = $1", [uuidOf(agent.id)]);
    await stream.nth(2); // relayed by the child
    const child = await adminQuery<{ pid: number }>(
      gw.database.adminUrl,
      "select pid from pg_locks where locktype = 'advisory' and objid = 7364203 and database = (select oid from pg_database where datname = current_database())",
    );
    expect(child.rows).toHaveLength(1);
    const killedAt = performance.now();
    replicas.kill(0);
    await waitUntil(() => relaysOf(gw.fleetgate, two).length === 1, 10_000, 'another relay');
    const tookOver = performance.now() - killedAt;
    console.log(`another replica relays ${Math.round(tookOver)} ms after the relay was killed`);
    expect(tookOver).toBeLessThan(5_000);
    // Changes committed between the two relays were published by no one: the open stream ends rather than go quiet.
    await stream.until((event) => event.event === 'complete', 10_000);
    expect(finalErrorCode(stream)).toBe('SERVICE_UNAVAILABLE');
    await waitUntil(() => two.live.available, 10_000, 'replica 2 hearing the new relay');
    const again = await subscribe((url, init) => two.yoga.fetch(url, init), URL, AGENT, { agentId: agent.id }, a.ownerToken);
    await again.nth(1);
    await adminQuery(gw.database.adminUrl, "update agents set status = 'STOPPED' where id = $1", [uuidOf(agent.id)]);
    await again.nth(2);
    expect(statuses(again)).toEqual(['RUNNING', 'STOPPED']);
    await again.close();
    await stream.close();
  });
});

describe('live updates through Redis: Redis goes away', () => {
  const instance = instanceName();
  let server: ChildProcess | undefined;
  let port: number;
  const clients: Redis[] = [];
  let gw: Gateway;
  let two: Replica;
  const startRedis = async () => {
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    const probe = redisClient(`redis://127.0.0.1:${port}`);
    await waitUntil(async () => (await probe.ping().catch(() => undefined)) === 'PONG', 10_000, 'redis-server up');
    probe.disconnect();
  };

  beforeAll(async () => {
    port = await freePorts(1);
    await startRedis();
    const redis = [redisClient(`redis://127.0.0.1:${port}`), redisClient(`redis://127.0.0.1:${port}`)];
    clients.push(...redis);
    gw = await startGateway({ policy: { redis: redis[0] }, liveRedis: { instance } });
    two = await secondReplica(gw, redis[1] as Redis, instance);
    await waitUntil(() => gw.fleetgate.live.available && two.live.available, 10_000, 'both replicas hearing the relay');
  });
  afterAll(async () => {
    await two?.close();
    await gw?.close();
    for (const each of clients) each.disconnect();
    server?.kill('SIGKILL');
  });

  test('every stream that depends on it ends with SERVICE_UNAVAILABLE, the replicas report it and refuse subscriptions, and recover when it is back', async () => {
    const a = await gw.seed.tenant();
    const agent = await a.agent();
    const onOne = await subscribe((url, init) => gw.yoga.fetch(url, init), URL, AGENT, { agentId: agent.id }, a.ownerToken);
    const onTwo = await subscribe((url, init) => two.yoga.fetch(url, init), URL, AGENT, { agentId: agent.id }, a.ownerToken);
    await onOne.nth(1);
    await onTwo.nth(1);
    const lostAt = performance.now();
    server?.kill('SIGKILL');
    const ended = await onOne.until((event) => event.event === 'complete', 10_000);
    await onTwo.until((event) => event.event === 'complete', 10_000);
    console.log(`streams ended ${Math.round(ended.at - lostAt)} ms after Redis was killed`);
    expect(finalErrorCode(onOne)).toBe('SERVICE_UNAVAILABLE');
    expect(finalErrorCode(onTwo)).toBe('SERVICE_UNAVAILABLE');
    // Reported: readiness degraded (not out: queries need no Redis), the gauge at 0, the log.
    const ready = await gw.fleetgate.readiness.check();
    expect(ready).toMatchObject({ status: 'degraded', ready: true, checks: { liveFanOut: 'down', freezeFeed: 'ok', database: 'ok' } });
    expect(await two.metrics.registry.getSingleMetricAsString('fleetgate_live_fan_out_up')).toMatch(/^fleetgate_live_fan_out_up 0$/m);
    expect(gw.logs()).toContain('live fan-out lost its Redis connection');
    // Queries still answer; a subscription is refused.
    expect((await gw.execute(RestartAgent, { id: agent.id }, { token: a.ownerToken })).errors).toBeUndefined();
    const refused = await subscribe((url, init) => two.yoga.fetch(url, init), URL, AGENT, { agentId: agent.id }, a.ownerToken);
    await refused.until((event) => event.event === 'complete');
    expect(finalErrorCode(refused)).toBe('SERVICE_UNAVAILABLE');
    // Back: the replicas reconnect, a relay beats again, and subscriptions hear changes.
    await startRedis();
    await waitUntil(() => gw.fleetgate.live.available && two.live.available, 20_000, 'the fan-out back');
    expect((await gw.fleetgate.readiness.check()).checks.liveFanOut).toBe('ok');
    const again = await subscribe((url, init) => two.yoga.fetch(url, init), URL, AGENT, { agentId: agent.id }, a.ownerToken);
    await again.nth(1);
    await adminQuery(gw.database.adminUrl, "update agents set status = 'FAILED' where id = $1", [uuidOf(agent.id)]);
    await again.nth(2);
    expect(statuses(again)).toEqual(['PROVISIONING', 'FAILED']);
    await again.close();
  });
});
