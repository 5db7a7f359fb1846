import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openKeyring } from '../src/auth/keyring.ts';
import { appUrlFor } from '../src/db/database-urls.ts';
import { migrate } from '../src/db/migrate.ts';
import { startGateway } from '../src/gateway.ts';
import { LocalKeyProvider } from '../src/keys/index.ts';
import { mintAgentToken } from '../src/modules/memory/agent-tokens.ts';
import { aadOf, openValue, sealValue } from '../src/modules/memory/memory-crypto.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { createLogger } from '../src/shared/logger.ts';
import { benchGraphql } from './graphql.ts';
import { percentile } from './load.ts';
import { adminQuery } from './seed.ts';

/**
 * `npm run bench:memory`: agent memory put/get throughput through the gateway's agent path, the
 * channel's MEMPUT and MEMGET (called in process, as the GraphQL benches call yoga: no FIFO; agent
 * token checked, freeze gate and rate limit, values sealed under the agent's data key unwrapped by
 * the key provider on every request), beside a floor of the same inserts/selects sent straight
 * through `pg`, each in a transaction with the same transaction-local `set_config` calls, on the
 * same database in the same run. One agent (CONCURRENCY requests in flight), then 100 agents at
 * once (one in flight each). Rounds alternate floor/gateway so drift hits both. Goal: ≥ 0.6× the floor.
 * For reference it also runs the same put and get, and an empty query, through GraphQL.
 */
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const AGENTS = Number(process.env.BENCH_AGENTS ?? 100);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 3000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const POOL = 10;
const VALUE = JSON.stringify({ note: 'the customer prefers email', score: 0.82, tags: ['a', 'b', 'c'] });

const log = createLogger({ level: 'silent' });

function urlFor(database: string) {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

interface BenchAgent {
  id: string;
  tenantId: string;
  token: string;
}

/** The middle sample (the lower of the two middle ones for an even count), as every bench reports it. */
const median = (values: number[]) => percentile(values, 50);

/** One operation of a worker: its `i`-th. */
type Op = (worker: number, i: number) => Promise<void>;

/** Runs `op(worker, i)` on `workers` workers for `ms`; returns operations per second. */
async function throughput(workers: number, ms: number, op: Op): Promise<number> {
  const deadline = performance.now() + ms;
  let done = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      for (let i = 0; performance.now() < deadline; i++) {
        await op(worker, i);
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

async function main() {
  const database = `fleetgate_bench_memory_${randomBytes(4).toString('hex')}`;
  await adminQuery(ADMIN_URL, `CREATE DATABASE ${database}`);
  const keyringDir = await mkdtemp(join(tmpdir(), 'fleetgate-bench-'));
  const adminUrl = urlFor(database);
  const appUrl = appUrlFor(adminUrl);
  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
  const floorPool = new pg.Pool({ connectionString: appUrl, max: POOL });
  // pg-pool's end() resolves before its clients' sockets close, so the DROP … WITH (FORCE) at the end
  // may terminate them first: reported on the pool, fatal without a listener. A query in flight still fails.
  floorPool.on('error', () => undefined);
  try {
    await migrate(adminUrl, log);
    gateway = await startGateway({
      appUrl,
      keyring: await openKeyring(keyringDir),
      keyProvider: await LocalKeyProvider.open(keyringDir, log),
      log,
      userTokenTtl: '1h',
      canaryIntervalMs: 0,
      testing: { withoutCanary: true },
      poolSize: POOL,
      memoryMaintenanceIntervalMs: 0,
      policy: { mode: 'development', tenantRateLimitPerMinute: 10_000_000, apiKeyRateLimitPerMinute: 10_000_000 },
    });
    const gw = gateway;
    const call = (token: string | undefined, query: string, variables: Record<string, unknown>): Promise<unknown> =>
      benchGraphql(gw.yoga, query, variables, { token });

    // Ten tenants, AGENTS agents spread over them, each with a token as its container would get.
    const agents: BenchAgent[] = [];
    const owners: string[] = [];
    for (let t = 0; t < 10; t++) {
      const signUp = (await call(undefined, 'mutation ($i: SignUpInput!) { signUp(input: $i) { token } }', {
        i: { tenantName: `bench-${t}`, owner: { email: `o${t}@bench.io`, name: 'O' } },
      })) as { signUp: { token: string } };
      owners.push(signUp.signUp.token);
    }
    for (let n = 0; n < AGENTS; n++) {
      const owner = owners[n % owners.length] as string;
      const created = (await call(owner, 'mutation ($i: CreateAgentInput!) { createAgent(input: $i) { agent { id } } }', {
        i: { name: `agent-${n}`, image: 'fleetgate/agent:1' },
      })) as { createAgent: { agent: { id: string } } };
      const id = decodeGlobalId(created.createAgent.agent.id).id;
      const tenantId = (await adminQuery(adminUrl, 'select tenant_id from agents where id = $1', [id])).rows[0].tenant_id as string;
      const token = await mintAgentToken({ orm: gw.orm, tokens: gw.tokens }, { id, tenantId });
      agents.push({ id, tenantId, token: token?.reveal() ?? '' });
    }

    const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
    const VALUE_B64 = b64(VALUE);
    const channel = gw.memoryChannel;
    const channelPut = async (agent: BenchAgent, key: string) => {
      const answer = await channel.handle({ tenantId: agent.tenantId, agentId: agent.id }, 'MEMPUT', [agent.token, b64(key), VALUE_B64]);
      if (answer !== 'OK') throw new Error(`MEMPUT ${key}: ${answer}`);
    };
    const channelGet = async (agent: BenchAgent, key: string) => {
      const answer = await channel.handle({ tenantId: agent.tenantId, agentId: agent.id }, 'MEMGET', [agent.token, b64(key)]);
      if (!answer?.startsWith('VALUE ')) throw new Error(`MEMGET ${key}: ${answer}`);
    };
    const PUT = 'mutation ($i: PutMemoryInput!) { putMemory(input: $i) { entry { key } } }';
    const GET = 'query ($k: String!) { memoryEntry(key: $k) { value } }';
    const graphqlPut = async (agent: BenchAgent, key: string) => {
      await call(agent.token, PUT, { i: { key, value: VALUE } });
    };
    const graphqlGet = async (agent: BenchAgent, key: string) => {
      await call(agent.token, GET, { k: key });
    };

    // The floor: the same row, sealed the same way, upserted and read by key in a transaction with
    // the same transaction-local settings the gateway applies; a read decrypts what it found.
    const dataKey = randomBytes(32);
    const dataKeyId = randomUUID(); // the id a row names its data key by (migrations/0019)
    const floorTx = async (agent: BenchAgent, sql: string, params: unknown[]) => {
      const client = await floorPool.connect();
      try {
        await client.query('begin');
        await client.query("select set_config('app.tenant_id', $1, true), set_config('app.agent_id', $2, true)", [
          agent.tenantId,
          agent.id,
        ]);
        const { rows } = await client.query(sql, params);
        await client.query('commit');
        return rows;
      } finally {
        client.release();
      }
    };
    const floorPut = async (agent: BenchAgent, key: string) => {
      await floorTx(
        agent,
        `insert into agent_memory (id, tenant_id, agent_id, key, tags, ciphertext, key_id, size_bytes) values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict (tenant_id, agent_id, key) do update set ciphertext = excluded.ciphertext, tags = excluded.tags,
           key_id = excluded.key_id, size_bytes = excluded.size_bytes, expires_at = excluded.expires_at, updated_at = now()
         returning id, created_at`,
        [
          randomUUID(),
          agent.tenantId,
          agent.id,
          `f-${key}`,
          [],
          sealValue(dataKey, aadOf(agent.tenantId, agent.id, `f-${key}`), VALUE),
          dataKeyId,
          VALUE.length,
        ],
      );
    };
    // A read opens the value it found, as the gateway must to answer it (a write seals it, above).
    const floorGet = async (agent: BenchAgent, key: string) => {
      const [row] = await floorTx(
        agent,
        'select ciphertext, tags, expires_at from agent_memory where agent_id = $1 and key = $2 and (expires_at is null or expires_at > now())',
        [agent.id, `f-${key}`],
      );
      if (!row) throw new Error(`floor: no entry f-${key}`);
      openValue(dataKey, aadOf(agent.tenantId, agent.id, `f-${key}`), row.ciphertext);
    };

    const KEYS = 200;
    const one = agents[0] as BenchAgent;
    const scenarios = [
      { name: `put, 1 agent × ${CONCURRENCY} in flight`, workers: CONCURRENCY, agentOf: () => one, floor: floorPut, gateway: channelPut },
      { name: `get, 1 agent × ${CONCURRENCY} in flight`, workers: CONCURRENCY, agentOf: () => one, floor: floorGet, gateway: channelGet },
      {
        name: `put, ${AGENTS} agents at once`,
        workers: AGENTS,
        agentOf: (w: number) => agents[w] as BenchAgent,
        floor: floorPut,
        gateway: channelPut,
      },
      {
        name: `get, ${AGENTS} agents at once`,
        workers: AGENTS,
        agentOf: (w: number) => agents[w] as BenchAgent,
        floor: floorGet,
        gateway: channelGet,
      },
    ];
    // Warm both paths and make sure every key a get asks for exists on both.
    for (const agent of agents) {
      for (let k = 0; k < 5; k++) {
        await channelPut(agent, `k${k}`);
        await floorPut(agent, `k${k}`);
      }
    }
    for (let k = 5; k < KEYS; k++) {
      await channelPut(one, `k${k}`);
      await floorPut(one, `k${k}`);
    }

    console.log(`agent memory (${AGENTS} agents, pool ${POOL}, ${ROUNDS} rounds × ${ROUND_MS} ms; shared machine: noisy)`);
    console.log('scenario                                  floor ops/s   gateway ops/s   ratio   goal ≥ 0.60');
    /** Medians of ROUNDS rounds of each side, alternating floor and gateway so drift hits both. */
    const alternate = async (workers: number, floorOp: Op, gatewayOp: Op) => {
      const floor: number[] = [];
      const through: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        floor.push(await throughput(workers, ROUND_MS, floorOp));
        through.push(await throughput(workers, ROUND_MS, gatewayOp));
      }
      return { floor: median(floor), through: median(through) };
    };
    let allMet = true;
    for (const scenario of scenarios) {
      const keyOf = (worker: number, i: number) => (scenario.workers === AGENTS ? `k${i % 5}` : `k${(worker * 13 + i) % KEYS}`);
      const { floor, through } = await alternate(
        scenario.workers,
        (w, i) => scenario.floor(scenario.agentOf(w), keyOf(w, i)),
        async (w, i) => {
          await scenario.gateway(scenario.agentOf(w), keyOf(w, i));
        },
      );
      const ratio = through / floor;
      allMet &&= ratio >= 0.6;
      console.log(
        `${scenario.name.padEnd(40)} ${floor.toFixed(0).padStart(12)} ${through.toFixed(0).padStart(15)} ${ratio.toFixed(2).padStart(7)}   ${ratio >= 0.6 ? 'PASS' : 'MISS'}`,
      );
    }
    console.log(allMet ? 'memory goal: PASS' : 'memory goal: MISS');

    // For reference, the same put and get through GraphQL with the agent token (what an agent with a
    // network route would send), and the request alone: an agent's query that reads nothing
    // (`{ __typename }`) still crosses yoga, the token check and the request transaction.
    const everyAgent =
      (op: (agent: BenchAgent, key: string) => Promise<void>): Op =>
      (w, i) =>
        op(agents[w] as BenchAgent, `k${i % 5}`);
    const references = [
      { name: 'put through GraphQL', floor: everyAgent(floorPut), gateway: everyAgent(graphqlPut) },
      { name: 'get through GraphQL', floor: everyAgent(floorGet), gateway: everyAgent(graphqlGet) },
      {
        name: 'empty query, vs the floor’s get',
        floor: everyAgent(floorGet),
        gateway: everyAgent(async (agent) => {
          await call(agent.token, '{ __typename }', {});
        }),
      },
    ];
    for (const reference of references) {
      const { floor, through } = await alternate(AGENTS, reference.floor, reference.gateway);
      console.log(
        `for reference, ${AGENTS} agents at once, ${reference.name}: ${through.toFixed(0)} ops/s, ${(through / floor).toFixed(2)}× the floor`,
      );
    }
  } finally {
    await gateway?.close();
    await floorPool.end();
    await adminQuery(ADMIN_URL, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await rm(keyringDir, { recursive: true, force: true });
  }
}

await main();
