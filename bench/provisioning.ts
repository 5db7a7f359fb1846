/**
 * Provisioning benchmark: createAgent → RUNNING one by one under each sandbox level (RUNC, and GVISOR
 * when the engine offers runsc), each beside its own floor measured in the same run (bare dockerode
 * create + start of the same image with the same hardened config and runtime); then, under RUNC, 20
 * agents one by one and 20 at once, 100 running agents and `agents(first: 20)` latency with and
 * without them. Goal (issue 21): GVISOR p50 ≤ 1.5× its own floor. The gateway's time includes what
 * the floor does not do: the job, the workspace file system, the channel and the start secrets taken
 * by the entrypoint.
 *
 * Then the egress proxy's overhead (issue 21): an allowed plain-HTTP request through the proxy
 * (src/modules/egress/egress-proxy.ts: identify by source address, allow-list, lookup, address check,
 * header swap, forward on a kept-alive upstream connection) against the same request sent directly, on
 * loopback, interleaved request by request. Goal: ≤ 2 ms more at p50. The proxy's events go to the
 * metrics (as deployed; the audit rows are written in batches off the request path, not measured here).
 *
 *   npm run bench:provisioning     (needs Postgres at TEST_DATABASE_URL or 127.0.0.1:5432, and Docker)
 *   BENCH_PROXY_ONLY=1 npm run bench:provisioning     (the proxy half alone: no database, no Docker)
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { openKeyring } from '../src/auth/keyring.ts';
import { appUrlFor } from '../src/db/database-urls.ts';
import { migrate } from '../src/db/migrate.ts';
import { startGateway } from '../src/gateway.ts';
import { EgressProxy } from '../src/modules/egress/egress-proxy.ts';
import { REFERENCE_IMAGE, referenceImage } from '../src/modules/provisioning/agent-image.ts';
import { HARDENING, type SandboxLevel } from '../src/modules/provisioning/container-runtime.ts';
import { DockerRuntime } from '../src/modules/provisioning/docker-runtime.ts';
import { createLogger } from '../src/shared/logger.ts';
import { Metrics } from '../src/shared/metrics.ts';
import { Secret } from '../src/shared/secret.ts';
import { benchGraphql } from './graphql.ts';
import { adminQuery } from './seed.ts';

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const log = createLogger({ level: 'warn' });
const docker = new Docker();
/** Agents per level in the one-by-one comparison. */
const PER_LEVEL = Number(process.env.BENCH_PER_LEVEL ?? 10);
/** 64 MB: the least a default agent gets GVISOR with (HARDENING.gvisorMinMemoryMb); both levels alike. */
const MEMORY_MB = HARDENING.gvisorMinMemoryMb;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function summary(label: string, values: number[]) {
  return { label, n: values.length, p50: Math.round(percentile(values, 50)), p95: Math.round(percentile(values, 95)) };
}

/** Per-request latency through the egress proxy and directly, on loopback (ms). */
async function proxyOverhead(requests = Number(process.env.BENCH_PROXY_REQUESTS ?? 5_000)) {
  const upstream = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok ${req.headers.authorization?.length ?? 0}`);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const port = (upstream.address() as AddressInfo).port;
  const metrics = new Metrics({ processMetrics: false });
  const proxy = new EgressProxy({
    log,
    port: Number(process.env.BENCH_PROXY_PORT ?? 13_128),
    resolve: async () => ['127.0.0.1'],
    allowPrivateCidrs: ['127.0.0.1/32'], // loopback upstream: the bench's own, like the tests' private upstreams
    onEvent: (event) => metrics.egressConnections.inc({ kind: event.kind, outcome: event.outcome, reason: event.reason ?? 'none' }),
  });
  const secret = new Secret(`sk-bench-${randomBytes(16).toString('hex')}`);
  await proxy.admit(
    { containerId: 'bench', address: '127.0.0.1', gateway: '127.0.0.1' },
    {
      tenantId: 'bench',
      agentId: 'bench',
      rules: [{ host: 'api.bench.test', port }],
      bindings: [{ placeholder: 'fgs_ph_bench', value: secret, hosts: [{ host: 'api.bench.test', port }] }],
    },
  );
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const once = (viaProxy: boolean) =>
    new Promise<number>((resolve, reject) => {
      const started = performance.now();
      const req = request(
        {
          host: '127.0.0.1',
          port: viaProxy ? proxy.port : port,
          path: viaProxy ? `http://api.bench.test:${port}/v1/thing` : '/v1/thing',
          headers: { host: `api.bench.test:${port}`, authorization: 'Bearer fgs_ph_bench' },
          agent,
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`status ${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });
  for (let i = 0; i < 200; i++) await once(i % 2 === 0); // warm-up: connections, JIT
  const direct: number[] = [];
  const proxied: number[] = [];
  for (let i = 0; i < requests; i++) {
    direct.push(await once(false));
    proxied.push(await once(true));
  }
  agent.destroy();
  await proxy.close();
  upstream.close();
  const ms = (value: number) => Number(value.toFixed(3));
  const overhead = percentile(proxied, 50) - percentile(direct, 50);
  console.table([
    { path: 'direct (loopback, keep-alive)', n: direct.length, 'p50 ms': ms(percentile(direct, 50)), 'p95 ms': ms(percentile(direct, 95)) },
    {
      path: 'through the egress proxy (swap on)',
      n: proxied.length,
      'p50 ms': ms(percentile(proxied, 50)),
      'p95 ms': ms(percentile(proxied, 95)),
    },
  ]);
  console.log(`egress proxy overhead p50: ${ms(overhead)} ms per request (goal ≤ 2 ms): ${overhead <= 2 ? 'PASS' : 'MISS'}`);
}

async function main() {
  if (process.env.BENCH_PROXY_ONLY === '1') return proxyOverhead();
  const database = `fleetgate_bench_${randomBytes(4).toString('hex')}`;
  await adminQuery(ADMIN_URL, `CREATE DATABASE ${database}`);
  const adminUrl = new URL(ADMIN_URL);
  adminUrl.pathname = `/${database}`;
  await migrate(adminUrl.toString(), log);
  const home = await mkdtemp(join(tmpdir(), 'fleetgate-bench-'));
  const keyring = await openKeyring(join(home, 'keyring'));
  const engine = new DockerRuntime({ instance: database, log });
  const gateway = await startGateway({
    appUrl: appUrlFor(adminUrl.toString()),
    keyring,
    log,
    userTokenTtl: '1h',
    canaryIntervalMs: 0,
    testing: { withoutCanary: true },
    poolSize: 20,
    policy: { mode: 'development', tenantRateLimitPerMinute: 1_000_000, apiKeyRateLimitPerMinute: 1_000_000 },
    runtime: { engine, channelRoot: join(home, 'agents'), reconcileIntervalMs: 0, workers: 20 },
  });
  const gql = (query: string, variables: Record<string, unknown>, token?: string) =>
    benchGraphql(gateway.yoga, query, variables, { token });

  const tenant = async (name: string) =>
    (
      await gql('mutation($i: SignUpInput!) { signUp(input: $i) { token } }', {
        i: { tenantName: name, owner: { email: `${name}@bench.io`, name } },
      })
    ).signUp.token as string;
  const createRunning = async (token: string, name: string, sandbox: SandboxLevel = 'RUNC') => {
    const started = performance.now();
    const { createAgent } = await gql(
      'mutation($i: CreateAgentInput!) { createAgent(input: $i) { agent { id } } }',
      { i: { name, image: REFERENCE_IMAGE, memoryMb: MEMORY_MB, cpuMillis: 100, sandbox } },
      token,
    );
    for (;;) {
      const { agent } = await gql('query($id: ID!) { agent(id: $id) { status } }', { id: createAgent.agent.id }, token);
      if (agent.status === 'RUNNING') return performance.now() - started;
      if (agent.status === 'FAILED') throw new Error('agent failed');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };

  const image = (await referenceImage()).tag;
  const floorOnce = async (i: number, sandbox: SandboxLevel = 'RUNC') => {
    const started = performance.now();
    const gvisor = sandbox === 'GVISOR';
    const container = await docker.createContainer({
      name: `fleetgate-floor-${database}-${i}`,
      Image: image,
      Cmd: ['/bin/sleep', '3600'],
      User: '65534:65534',
      Labels: { 'fleetgate.bench': database },
      HostConfig: {
        Runtime: gvisor ? 'runsc' : 'runc',
        NetworkMode: 'none',
        ReadonlyRootfs: true,
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        ...(gvisor
          ? {
              PidsLimit: HARDENING.gvisorSandboxPidsLimit,
              Ulimits: [{ Name: 'nproc', Soft: HARDENING.pidsLimit, Hard: HARDENING.pidsLimit }],
            }
          : { PidsLimit: HARDENING.pidsLimit }),
        Memory: MEMORY_MB << 20,
        MemorySwap: MEMORY_MB << 20,
        NanoCpus: 100_000_000,
        Tmpfs: { ...HARDENING.tmpfs },
      },
    });
    await container.start();
    return performance.now() - started;
  };
  const removeFloors = async () => {
    for (const c of await docker.listContainers({ all: true, filters: { label: [`fleetgate.bench=${database}`] } })) {
      await docker.getContainer(c.Id).remove({ force: true });
    }
  };

  const results = [];
  const levels = await engine.sandboxLevels();
  const levelTokens = await Promise.all(levels.map((level) => tenant(`level-${level.toLowerCase()}`)));
  const ratios: { level: SandboxLevel; floor: number; gateway: number }[] = [];
  // Interleaved per sample (floor, then gateway) so load drifts hit both alike.
  for (const [index, level] of levels.entries()) {
    const floor: number[] = [];
    const gateway: number[] = [];
    for (let i = 0; i < PER_LEVEL; i++) {
      floor.push(await floorOnce(1000 * (index + 1) + i, level));
      gateway.push(await createRunning(levelTokens[index] ?? '', `${level.toLowerCase()}-${i}`, level));
    }
    await removeFloors();
    for (const c of await engine.list()) await engine.remove(c.agentId);
    results.push(summary(`${level} floor: docker create+start, one by one`, floor));
    results.push(summary(`${level} gateway: createAgent → RUNNING, one by one`, gateway));
    ratios.push({ level, floor: percentile(floor, 50), gateway: percentile(gateway, 50) });
  }

  const floorSerial: number[] = [];
  for (let i = 0; i < 20; i++) floorSerial.push(await floorOnce(i));
  results.push(summary('RUNC floor: docker create+start, one by one', floorSerial));
  const floorParallel = await Promise.all(Array.from({ length: 20 }, (_, i) => floorOnce(100 + i)));
  results.push(summary('RUNC floor: docker create+start, 20 at once', floorParallel));
  await removeFloors();

  const tokens = await Promise.all(Array.from({ length: 5 }, (_, i) => tenant(`bench-${i}`)));
  const t0 = tokens[0] ?? '';
  const listLatency = async () => {
    const samples: number[] = [];
    for (let i = 0; i < 200; i++) {
      const started = performance.now();
      await gql('query { agents(first: 20) { edges { node { id name status } } } }', {}, tokens[i % tokens.length]);
      samples.push(performance.now() - started);
    }
    return samples;
  };
  const idle = await listLatency();

  const serial: number[] = [];
  for (let i = 0; i < 20; i++) serial.push(await createRunning(t0, `serial-${i}`));
  results.push(summary('RUNC gateway: createAgent → RUNNING, one by one', serial));
  const parallel = await Promise.all(Array.from({ length: 20 }, (_, i) => createRunning(tokens[1] ?? '', `parallel-${i}`)));
  results.push(summary('RUNC gateway: createAgent → RUNNING, 20 at once', parallel));
  await Promise.all(tokens.slice(2).flatMap((token, t) => Array.from({ length: 20 }, (_, i) => createRunning(token, `fill-${t}-${i}`))));
  const running = (await engine.list()).filter((c) => c.running).length;
  const busy = await listLatency();
  results.push(summary('agents(first: 20), no agent running (ms)', idle));
  results.push(summary(`agents(first: 20), ${running} agents running (ms)`, busy));
  console.table(results);
  console.table(
    ratios.map(({ level, floor, gateway }) => ({
      level,
      'floor p50 ms': Math.round(floor),
      'gateway p50 ms': Math.round(gateway),
      ratio: Number((gateway / floor).toFixed(2)),
      'goal ≤ 1.5× (GVISOR)': level === 'GVISOR' ? (gateway / floor <= 1.5 ? 'PASS' : 'MISS') : '',
    })),
  );

  await gateway.close();
  for (const c of await engine.list()) await engine.remove(c.agentId);
  await adminQuery(ADMIN_URL, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await rm(home, { recursive: true, force: true });

  await proxyOverhead();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
