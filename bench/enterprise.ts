/**
 * `npm run bench:enterprise`: the enterprise tier beside the standard one, in the same run, on a
 * throw-away database and one gateway process.
 *
 * 1. Onboarding: `createEnterpriseTenant` (tenant row, schema created and migrated, owner, audit
 *    event, one transaction) against self-service `signUp` (a standard tenant) as the baseline,
 *    interleaved. Goal: enterprise onboarding ≤ 2 s (every sample).
 * 2. `agents(first: 20)` throughput for enterprise tenants (own schema) against standard tenants
 *    (shared tables holding BENCH_ENT_TENANTS tenants' rows), alternating rounds; ratio to standard.
 * 3. Upgrade of a standard tenant with 20 agents (copy, verify, delete), for scale.
 *
 * Report, not gate: a MISS still exits 0. Exits non-zero on any error or foreign row.
 *
 * Environment (all optional):
 *   BENCH_DATABASE_URL    administrative URL (default postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_ENT_TENANTS     standard tenants in the shared tables (default 1000)
 *   BENCH_ENT_ONBOARD     onboarding samples of each kind (default 10)
 *   BENCH_ENT_SAMPLED     tenants of each tier the load is spread over (default 10)
 *   BENCH_CONCURRENCY     concurrent requests (default 16)
 *   BENCH_WARMUP_S, BENCH_DURATION_S, BENCH_ROUNDS   per measurement (default 1, 4, 3)
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { appUrlFor } from '../src/db/database-urls.ts';
import { tenantSchemaName } from '../src/db/request-scope.ts';
import { decodeGlobalId, encodeGlobalId } from '../src/shared/global-id.ts';
import { benchFixture, type Cleanup } from './fixture.ts';
import { type LoadResult, percentile, runLoad } from './load.ts';
import { AGENTS_PER_TENANT, type Fixtures, seedTenants } from './seed.ts';
import { startServer } from './servers.ts';
import { positiveSetting } from './settings.ts';

const settings = {
  adminUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  tenants: positiveSetting('BENCH_ENT_TENANTS', 1000),
  onboardSamples: positiveSetting('BENCH_ENT_ONBOARD', 10),
  sampled: positiveSetting('BENCH_ENT_SAMPLED', 10),
  concurrency: positiveSetting('BENCH_CONCURRENCY', 16),
  warmupMs: positiveSetting('BENCH_WARMUP_S', 1) * 1000,
  durationMs: positiveSetting('BENCH_DURATION_S', 4) * 1000,
  rounds: positiveSetting('BENCH_ROUNDS', 3),
};
const ONBOARDING_GOAL_MS = 2_000;

const cleanups: Cleanup[] = [];

async function main(): Promise<void> {
  const { machine, db, keyringDir, tokens } = await benchFixture(settings.adminUrl, cleanups);
  const operatorToken = (await tokens.issue({ kind: 'operator', operatorId: 'bench' })).reveal();
  const all: Fixtures = { tenants: [], agentOwner: new Map() };
  await seedTenants(db.url, all, settings.tenants, tokens);
  const server = await startServer('fleetgate', './fleetgate-server.ts', { appUrl: appUrlFor(db.url), keyringDir, poolSize: 10 });
  cleanups.push(server.stop);
  const call = async (query: string, variables: Record<string, unknown>, token?: string) => {
    const response = await fetch(`http://127.0.0.1:${server.port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: Record<string, unknown>; errors?: { message: string }[] };
    if (body.errors?.length || !body.data) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
    return body.data;
  };
  console.log(
    `Fleetgate enterprise bench on ${db.name}: ${settings.tenants} standard tenants of ${AGENTS_PER_TENANT} agents in the shared tables (${machine})`,
  );

  // 1. Onboarding, interleaved with the standard baseline.
  const owner = (i: number) => ({ email: `owner-${i}@bench.test`, name: 'Owner' });
  const enterpriseMs: number[] = [];
  const standardMs: number[] = [];
  const enterprise: Fixtures = { tenants: [], agentOwner: all.agentOwner };
  for (let i = 0; i < Math.max(settings.onboardSamples, settings.sampled); i++) {
    let started = performance.now();
    const created = await call(
      'mutation($input: CreateEnterpriseTenantInput!) { createEnterpriseTenant(input: $input) { ownerToken tenant { id } } }',
      { input: { tenantName: `ent-${i}`, owner: owner(i) } },
      operatorToken,
    );
    if (i < settings.onboardSamples) enterpriseMs.push(performance.now() - started);
    const { ownerToken, tenant } = (created as { createEnterpriseTenant: { ownerToken: string; tenant: { id: string } } })
      .createEnterpriseTenant;
    enterprise.tenants.push({ tenantId: decodeGlobalId(tenant.id).id, token: ownerToken });
    started = performance.now();
    await call('mutation($input: SignUpInput!) { signUp(input: $input) { token } }', {
      input: { tenantName: `std-${i}`, owner: owner(i) },
    });
    if (i < settings.onboardSamples) standardMs.push(performance.now() - started);
  }
  enterprise.tenants.splice(settings.sampled);
  await seedEnterpriseAgents(db.url, enterprise);

  // 2. agents(first: 20), alternating tiers round by round.
  const standard: Fixtures = { tenants: all.tenants.slice(0, settings.sampled), agentOwner: all.agentOwner };
  const results: Record<'standard' | 'enterprise', LoadResult[]> = { standard: [], enterprise: [] };
  for (let round = 0; round < settings.rounds; round++) {
    for (const tier of ['standard', 'enterprise'] as const) {
      results[tier].push(
        await runLoad({
          port: server.port,
          fixtures: tier === 'standard' ? standard : enterprise,
          concurrency: settings.concurrency,
          warmupMs: settings.warmupMs,
          durationMs: settings.durationMs,
          serverCpuMicros: server.cpuMicros,
        }),
      );
    }
  }

  // 3. One upgrade of a seeded standard tenant (owner + 20 agents).
  const upgraded = all.tenants[settings.sampled] ?? all.tenants[0];
  const upgradeStarted = performance.now();
  await call(
    'mutation($id: ID!) { upgradeTenantToEnterprise(id: $id) { plan } }',
    { id: encodeGlobalId('Tenant', upgraded?.tenantId ?? '') },
    operatorToken,
  );
  const upgradeMs = performance.now() - upgradeStarted;

  const ms = (value: number) => `${value.toFixed(0)} ms`;
  const worstOnboarding = Math.max(...enterpriseMs);
  console.log('\nOnboarding (one transaction each, through the gateway):');
  console.log(`  standard signUp           p50 ${ms(percentile(standardMs, 50))}  max ${ms(Math.max(...standardMs))}`);
  console.log(
    `  createEnterpriseTenant    p50 ${ms(percentile(enterpriseMs, 50))}  max ${ms(worstOnboarding)}  ` +
      `ratio to standard (p50) ${(percentile(enterpriseMs, 50) / percentile(standardMs, 50)).toFixed(1)}x  ` +
      `goal max <= ${ms(ONBOARDING_GOAL_MS)}: ${worstOnboarding <= ONBOARDING_GOAL_MS ? 'MET' : 'MISS'}`,
  );
  console.log(`\nagents(first: ${AGENTS_PER_TENANT}), concurrency ${settings.concurrency}, ${settings.rounds} round(s) per tier, median:`);
  const summary = (list: LoadResult[]) => {
    const rates = list.map((r) => r.requests / r.seconds).sort((a, b) => a - b);
    const latencies = list.flatMap((r) => r.latenciesMs);
    const cpu = list.map((r) => r.serverCpuMsPerRequest).sort((a, b) => a - b);
    return {
      rate: rates[Math.floor(rates.length / 2)] ?? 0,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      cpu: cpu[Math.floor(cpu.length / 2)] ?? 0,
    };
  };
  const std = summary(results.standard);
  const ent = summary(results.enterprise);
  for (const [name, s] of [
    ['standard (shared tables)', std],
    ['enterprise (own schema)', ent],
  ] as const) {
    console.log(
      `  ${name.padEnd(26)} ${s.rate.toFixed(0).padStart(6)} req/s  p50 ${s.p50.toFixed(1)} ms  p99 ${s.p99.toFixed(1)} ms  server CPU ${s.cpu.toFixed(2)} ms/req`,
    );
  }
  console.log(
    `  ratio enterprise/standard: throughput ${(ent.rate / std.rate).toFixed(2)}x, server CPU per request ${(ent.cpu / std.cpu).toFixed(2)}x`,
  );
  console.log(`\nUpgrade of a standard tenant (1 user, ${AGENTS_PER_TENANT} agents, its audit events): ${ms(upgradeMs)}`);
  console.log('(2 shared cores; other sessions may be running: compare ratios within this run, not absolute numbers across runs.)');

  const failures = [...results.standard, ...results.enterprise];
  const failed = failures.reduce((n, r) => n + r.failed, 0);
  const foreign = failures.reduce((n, r) => n + r.foreignRows, 0);
  if (failed > 0 || foreign > 0) {
    console.error(
      `FAILED: ${failed} bad response(s), ${foreign} foreign row(s): ${failures
        .flatMap((r) => r.examples)
        .slice(0, 5)
        .join(' | ')}`,
    );
    process.exitCode = 1;
  }
}

/** 20 agents per sampled enterprise tenant, written straight into its schema (seeding only, as the superuser). */
async function seedEnterpriseAgents(url: string, fixtures: Fixtures): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const { tenantId } of fixtures.tenants) {
      const schema = tenantSchemaName(tenantId);
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO ${schema}.agents (id, tenant_id, name, image, created_by)
         SELECT gen_random_uuid(), $1, 'agent-' || lpad(i::text, 2, '0'), 'fleetgate/agent:1', 'bench'
           FROM generate_series(1, $2::int) AS i RETURNING id`,
        [tenantId, AGENTS_PER_TENANT],
      );
      for (const row of rows) fixtures.agentOwner.set(row.id, tenantId);
      await client.query(`ANALYZE ${schema}.agents`);
    }
  } finally {
    await client.end();
  }
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => console.error('cleanup failed:', error));
}
