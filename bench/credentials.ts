/**
 * Credentials benchmark (issue 4), in one run on a throw-away database, beside floors measured in
 * the same run:
 *   - setCredential throughput through the gateway (local keyring; then the in-test Vault Transit
 *     server over loopback HTTP, indicative only), against the floor of the raw cryptography one
 *     set needs: a fresh data key, AES-256-GCM of the value and AES-256-GCM wrap of the key;
 *   - the start latency an agent's 10 credentials add: restartAgent → RUNNING for agents with 10
 *     credentials against agents with none (interleaved), beside the raw AES-GCM decryptions of 10 values.
 * Prints ratios; goals are reported (PASS/MISS), not gated. Numbers on a shared 2-core machine are noisy.
 *
 *   npm run bench:credentials   (Postgres at BENCH_DATABASE_URL or 127.0.0.1:5432, and Docker)
 *   BENCH_SET_SECONDS (default 5), BENCH_SET_CONCURRENCY (8), BENCH_START_SAMPLES (6)
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { openKeyring } from '../src/auth/keyring.ts';
import { appUrlFor } from '../src/db/database-urls.ts';
import { migrate } from '../src/db/migrate.ts';
import { forkForTenant } from '../src/db/request-scope.ts';
import { startGateway } from '../src/gateway.ts';
import { type KeyProvider, LocalKeyProvider, VaultKeyProvider } from '../src/keys/index.ts';
import { credentialStartSecrets } from '../src/modules/credentials/credential-delivery.ts';
import { encodeStartPayload, type StartSecret } from '../src/modules/credentials/start-secrets.ts';
import { REFERENCE_IMAGE } from '../src/modules/provisioning/agent-image.ts';
import { DockerRuntime } from '../src/modules/provisioning/docker-runtime.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { newId } from '../src/shared/ids.ts';
import { createLogger } from '../src/shared/logger.ts';
import { Secret } from '../src/shared/secret.ts';
import { startTransitServer } from '../test/support/vault-transit.ts';
import { benchGraphql } from './graphql.ts';
import { percentile } from './load.ts';
import { adminQuery } from './seed.ts';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SET_SECONDS = Number(process.env.BENCH_SET_SECONDS ?? 5);
const SET_CONCURRENCY = Number(process.env.BENCH_SET_CONCURRENCY ?? 8);
const START_SAMPLES = Number(process.env.BENCH_START_SAMPLES ?? 6);
/** Goals: a set costs the gateway's usual mutation work, not crypto; 10 credentials add little to a start. */
const GOAL_ADDED_START_MS = 100;
const log = createLogger({ level: 'warn' });

/** The middle sample (the lower of the two middle ones for an even count), as every bench reports it. */
const median = (values: number[]) => percentile(values, 50);
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** The floor of one set: a fresh 256-bit key, AES-256-GCM of a 40-byte value, AES-256-GCM wrap of the key under a KEK. */
function rawSealsPerSecond(ms = 1500): number {
  const kek = randomBytes(32);
  const value = Buffer.from('sk-bench-0123456789abcdef0123456789abcdef');
  let n = 0;
  const until = performance.now() + ms;
  while (performance.now() < until) {
    for (let i = 0; i < 100; i++) {
      const key = randomBytes(32);
      const c1 = createCipheriv('aes-256-gcm', key, randomBytes(12));
      Buffer.concat([c1.update(value), c1.final(), c1.getAuthTag()]);
      const c2 = createCipheriv('aes-256-gcm', kek, randomBytes(12));
      Buffer.concat([c2.update(key), c2.final(), c2.getAuthTag()]);
      n++;
    }
  }
  return n / (ms / 1000);
}

/** The floor of one start's decryption: unwrap and decrypt 10 values, raw AES-256-GCM. */
function rawOpenTenMs(): number {
  const kek = randomBytes(32);
  const sealed = Array.from({ length: 10 }, () => {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const c1 = createCipheriv('aes-256-gcm', key, nonce);
    const body = Buffer.concat([c1.update(Buffer.from('sk-bench-value-0123456789')), c1.final()]);
    const keyNonce = randomBytes(12);
    const c2 = createCipheriv('aes-256-gcm', kek, keyNonce);
    const wrapped = Buffer.concat([c2.update(key), c2.final()]);
    return { nonce, body, tag: c1.getAuthTag(), keyNonce, wrapped, keyTag: c2.getAuthTag() };
  });
  const rounds = 2000;
  const started = performance.now();
  for (let r = 0; r < rounds; r++) {
    for (const s of sealed) {
      const d2 = createDecipheriv('aes-256-gcm', kek, s.keyNonce);
      d2.setAuthTag(s.keyTag);
      const key = Buffer.concat([d2.update(s.wrapped), d2.final()]);
      const d1 = createDecipheriv('aes-256-gcm', key, s.nonce);
      d1.setAuthTag(s.tag);
      Buffer.concat([d1.update(s.body), d1.final()]);
    }
  }
  return (performance.now() - started) / rounds;
}

async function withGateway<T>(
  label: string,
  provider: (home: string) => Promise<KeyProvider>,
  runtime: boolean,
  work: (g: BenchGateway, gateway: Awaited<ReturnType<typeof startGateway>>, engine: DockerRuntime | undefined) => Promise<T>,
) {
  const database = `fleetgate_bench_creds_${randomBytes(4).toString('hex')}`;
  await adminQuery(ADMIN_URL, `CREATE DATABASE ${database}`);
  const adminUrl = new URL(ADMIN_URL);
  adminUrl.pathname = `/${database}`;
  await migrate(adminUrl.toString(), log);
  const home = await mkdtemp(join(tmpdir(), 'fleetgate-bench-creds-'));
  const engine = runtime ? new DockerRuntime({ instance: database, log }) : undefined;
  const gateway = await startGateway({
    appUrl: appUrlFor(adminUrl.toString()),
    keyring: await openKeyring(join(home, 'keyring')),
    log,
    userTokenTtl: '1h',
    canaryIntervalMs: 0,
    testing: { withoutCanary: true },
    poolSize: 20,
    policy: { mode: 'development', tenantRateLimitPerMinute: 10_000_000, apiKeyRateLimitPerMinute: 10_000_000 },
    keyProvider: await provider(home),
    keyRewrapIntervalMs: 0,
    runtime: engine ? { engine, channelRoot: join(home, 'agents'), reconcileIntervalMs: 0, workers: 8 } : undefined,
  });
  const gql = (query: string, variables: Record<string, unknown>, token?: string) =>
    benchGraphql(gateway.yoga, query, variables, { token, label });

  try {
    return await work({ gql }, gateway, engine);
  } finally {
    await gateway.close();
    if (engine) for (const c of await engine.list()) await engine.remove(c.agentId);
    await adminQuery(ADMIN_URL, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await rm(home, { recursive: true, force: true });
  }
}

// biome-ignore lint/suspicious/noExplicitAny: untyped bench documents; every field read is checked by use.
type BenchGateway = { gql: (query: string, variables: Record<string, unknown>, token?: string) => Promise<any> };

async function signUp(g: BenchGateway, name: string): Promise<string> {
  return (await signUpTenant(g, name)).token;
}

async function signUpTenant(g: BenchGateway, name: string): Promise<{ token: string; tenantId: string }> {
  const { signUp } = await g.gql('mutation($i: SignUpInput!) { signUp(input: $i) { token tenant { id } } }', {
    i: { tenantName: name, owner: { email: `${name}@bench.io`, name } },
  });
  return { token: signUp.token, tenantId: decodeGlobalId(signUp.tenant.id).id };
}

const UPDATE = 'mutation($i: UpdateAgentInput!) { updateAgent(input: $i) { agent { id } } }';
const SET =
  'mutation($a: ID!, $n: String!, $v: CredentialValue!) { setCredential(agentId: $a, name: $n, value: $v) { credential { version } } }';

/**
 * setCredential/s at SET_CONCURRENCY, spread over 64 agents (each set locks its agent's row). The
 * agents want to run but this gateway has no engine, so each set also queues its restart job, as
 * for a running agent.
 */
async function setThroughput(g: BenchGateway): Promise<{ sets: number; updates: number }> {
  const token = await signUp(g, `set-${randomBytes(3).toString('hex')}`);
  const agents: string[] = [];
  for (let i = 0; i < 64; i++) {
    const { createAgent } = await g.gql(
      'mutation($i: CreateAgentInput!) { createAgent(input: $i) { agent { id } } }',
      { i: { name: `a${i}`, image: REFERENCE_IMAGE } },
      token,
    );
    agents.push(createAgent.agent.id);
  }
  const capacity = agents.length * 60; // under the per-agent limit of 64
  let nextSet = 0;
  let nextUpdate = 0;
  const set = async () => {
    const op = nextSet++;
    if (op >= capacity) throw new Error('raise the agent count: the per-agent limit was reached');
    await g.gql(SET, { a: agents[op % agents.length], n: `K_${op}`, v: `sk-${randomBytes(20).toString('hex')}` }, token);
  };
  // The baseline: the same gateway's cheapest audited mutation on the same agents (updateAgent's description).
  const update = async () => {
    const op = nextUpdate++;
    await g.gql(UPDATE, { i: { id: agents[op % agents.length], description: `d${op}` } }, token);
  };
  const window = async (op: () => Promise<void>, ms: number) => {
    let done = 0;
    const until = performance.now() + ms;
    await Promise.all(
      Array.from({ length: SET_CONCURRENCY }, async () => {
        while (performance.now() < until) {
          await op();
          done++;
        }
      }),
    );
    return done / (ms / 1000);
  };
  await window(set, 500);
  await window(update, 500); // warm-up
  const sets: number[] = [];
  const updates: number[] = [];
  for (let round = 0; round < 4; round++) {
    updates.push(await window(update, (SET_SECONDS * 1000) / 4));
    sets.push(await window(set, (SET_SECONDS * 1000) / 4));
  }
  return { sets: median(sets), updates: median(updates) };
}

/** restartAgent → RUNNING, for agents with `credentials` credentials, interleaved with agents without. */
async function startLatencies(g: BenchGateway): Promise<{ none: number[]; ten: number[] }> {
  const token = await signUp(g, `start-${randomBytes(3).toString('hex')}`);
  const waitRunning = async (id: string) => {
    for (;;) {
      const { agent } = await g.gql('query($id: ID!) { agent(id: $id) { status } }', { id }, token);
      if (agent.status === 'RUNNING') return;
      if (agent.status === 'FAILED') throw new Error('agent failed');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const create = async (name: string, credentials: number) => {
    const { createAgent } = await g.gql(
      'mutation($i: CreateAgentInput!) { createAgent(input: $i) { agent { id } } }',
      {
        i: { name, image: REFERENCE_IMAGE, memoryMb: 16, cpuMillis: 100 },
      },
      token,
    );
    const id = createAgent.agent.id as string;
    await waitRunning(id);
    for (let i = 0; i < credentials; i++)
      await g.gql(SET, { a: id, n: `CREDENTIAL_${i}`, v: `sk-${randomBytes(24).toString('hex')}` }, token);
    await waitRunning(id);
    return id;
  };
  const plain = await create('plain', 0);
  const withTen = await create('ten', 10);
  const restart = async (id: string) => {
    const started = performance.now();
    await g.gql('mutation($id: ID!) { restartAgent(id: $id) { agent { id } } }', { id }, token);
    await waitRunning(id);
    return performance.now() - started;
  };
  await restart(plain);
  await restart(withTen); // warm-up
  const none: number[] = [];
  const ten: number[] = [];
  for (let i = 0; i < START_SAMPLES; i++) {
    none.push(await restart(plain));
    ten.push(await restart(withTen));
  }
  return { none, ten };
}

/**
 * The parts a start adds, measured on their own (steadier than whole restarts on a busy machine):
 * decrypting an agent's 10 credentials from the database, and handing them over the agent's channel at start,
 * against a container start of the same hardened container without any attach.
 */
async function startComponents(g: BenchGateway, gateway: Awaited<ReturnType<typeof startGateway>>, engine: DockerRuntime) {
  const { token, tenantId } = await signUpTenant(g, `parts-${randomBytes(3).toString('hex')}`);
  const { createAgent } = await g.gql(
    'mutation($i: CreateAgentInput!) { createAgent(input: $i) { agent { id } } }',
    { i: { name: 'parts', image: REFERENCE_IMAGE } },
    token,
  );
  await g.gql('mutation($id: ID!) { stopAgent(id: $id) { agent { id } } }', { id: createAgent.agent.id }, token);
  for (let i = 0; i < 10; i++)
    await g.gql(SET, { a: createAgent.agent.id, n: `CREDENTIAL_${i}`, v: `sk-${randomBytes(24).toString('hex')}` }, token);
  const agentId = decodeGlobalId(createAgent.agent.id).id;
  const decrypt: number[] = [];
  let secrets: StartSecret[] = [];
  for (let i = 0; i < 30; i++) {
    const started = performance.now();
    secrets = await credentialStartSecrets(gateway.keyProvider)(forkForTenant(gateway.orm, tenantId), { tenantId, agentId });
    decrypt.push(performance.now() - started);
  }
  if (secrets.length !== 10) throw new Error('expected 10 credentials');

  const image = gateway.runtime?.reference.tag ?? '';
  const channels = gateway.runtime?.channels;
  if (!channels) throw new Error('the bench gateway runs no agent runtime');
  const docker = new Docker();
  const spec = (id: string) => ({
    tenantId,
    agentId: id,
    image,
    command: ['/bin/sleep', '3600'],
    memoryMb: 16,
    cpuMillis: 100,
    channelDir: channels.dirOf(id),
  });
  // Offered on the channel, started, taken by the entrypoint (what the provisioner does).
  const startWith = async (id: string, payload: Buffer) => {
    const delivered = channels.deliverStart(id, payload);
    await engine.start(id);
    await delivered;
  };
  const tenPayload = encodeStartPayload(secrets);
  const bare: number[] = [];
  const empty: number[] = [];
  const ten: number[] = [];
  for (let i = 0; i < START_SAMPLES; i++) {
    for (const [samples, start] of [
      [bare, (id: string) => docker.getContainer(DockerRuntime.containerName(id)).start()],
      [empty, (id: string) => startWith(id, encodeStartPayload([]))],
      [ten, (id: string) => startWith(id, tenPayload)],
    ] as const) {
      const id = newId();
      await channels.reset(tenantId, id);
      await engine.create(spec(id));
      const started = performance.now();
      await start(id);
      samples.push(performance.now() - started);
      await engine.remove(id);
      await channels.destroy(id);
    }
  }
  tenPayload.fill(0);
  return { decrypt, bare, empty, ten };
}

async function main() {
  const rawSeals = rawSealsPerSecond();
  const rawOpen10 = rawOpenTenMs();
  const local = (home: string) => LocalKeyProvider.open(join(home, 'keyring'), log);
  const localSets = await withGateway('local', local, false, setThroughput);
  const transit = await startTransitServer({ token: 'bench-token-0123456789' });
  const vault = async () =>
    new VaultKeyProvider({ address: transit.address, token: new Secret('bench-token-0123456789'), key: 'fleetgate', log });
  const vaultSets = await withGateway('vault', vault, false, setThroughput);
  await transit.close();
  const { starts, parts } = await withGateway('local', local, true, async (g, gateway, engine) => ({
    parts: await startComponents(g, gateway, engine as DockerRuntime),
    starts: await startLatencies(g),
  }));
  const added = median(parts.decrypt) + median(parts.ten) - median(parts.bare);

  console.log('\nCredentials benchmark (noisy: 2 shared cores)\n');
  console.table([
    { measure: 'floor: raw seal (key + AES-GCM value + AES-GCM wrap), ops/s', value: Math.round(rawSeals) },
    { measure: `baseline: updateAgent/s, same gateway and agents, concurrency ${SET_CONCURRENCY}`, value: round(localSets.updates) },
    {
      measure: 'setCredential/s, local keyring (ratio: to updateAgent)',
      value: round(localSets.sets),
      ratio: round(localSets.sets / localSets.updates, 3),
    },
    {
      measure: 'setCredential/s, local keyring (ratio: to the raw seal floor)',
      value: round(localSets.sets),
      ratio: round(localSets.sets / rawSeals, 4),
    },
    {
      measure: 'setCredential/s, in-test Vault Transit over HTTP (ratio: to its updateAgent)',
      value: round(vaultSets.sets),
      ratio: round(vaultSets.sets / vaultSets.updates, 3),
    },
    { measure: 'floor: raw unwrap + decrypt of 10 values, ms', value: round(rawOpen10, 3) },
    { measure: `restartAgent → RUNNING, no credentials, p50 ms (n=${START_SAMPLES})`, value: round(median(starts.none)) },
    {
      measure: `restartAgent → RUNNING, 10 credentials, p50 ms (n=${START_SAMPLES})`,
      value: round(median(starts.ten)),
      ratio: round(median(starts.ten) / median(starts.none), 3),
    },
    { measure: `floor: docker start, no attach, p50 ms (n=${START_SAMPLES})`, value: round(median(parts.bare)) },
    {
      measure: 'start + channel delivery, no secrets, p50 ms',
      value: round(median(parts.empty)),
      ratio: round(median(parts.empty) / median(parts.bare), 3),
    },
    {
      measure: 'start + channel delivery of 10 secrets, p50 ms',
      value: round(median(parts.ten)),
      ratio: round(median(parts.ten) / median(parts.bare), 3),
    },
    {
      measure: 'decrypt 10 credentials from the database, p50 ms (n=30)',
      value: round(median(parts.decrypt), 2),
      ratio: round(median(parts.decrypt) / rawOpen10, 1),
    },
    { measure: 'added start latency of 10 credentials (decrypt + delivery − bare start), ms', value: round(added) },
  ]);
  console.log(
    `goal: 10 credentials add ≤ ${GOAL_ADDED_START_MS} ms to a start (p50): ${added <= GOAL_ADDED_START_MS ? 'PASS' : 'MISS'} (${round(added)} ms)`,
  );
  console.log(
    'Ratios: setCredential to updateAgent (same request, audit and transaction, without the crypto) and to the raw crypto floor;',
  );
  console.log('start rows to a docker start without attach (same run); the database decryption to raw AES-GCM of 10 values.');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
