/**
 * `npm run bench:documents`: what running the hot read as a trusted document costs against sending
 * the same query raw (issue 18). One gateway process (development mode, so it takes both) on a
 * throw-away database of 1,000 tenants; the read `agents(first: 20)` is published once as a platform
 * app version (`bench-app`), then each round sends it either raw (`{query}`) or by hash (`{documentId}`
 * with `x-graphql-client-name: bench-app`). Both reach the same parse/validate caches and the same
 * execution; the difference is the lookup (principal, app, per-replica cache). Every tenant is met once
 * both ways before the rounds, as a deployed replica has met its tenants. Rounds alternate
 * ABBA and are compared in pairs (bench/same-run.ts).
 * Goal: the trusted-document path costs at most 2 % more CPU per request (gateway + Postgres).
 *
 * Environment (all optional): BENCH_DATABASE_URL, BENCH_TENANTS (default 1000), BENCH_CONCURRENCY
 * (32), BENCH_POOL_SIZE (10), BENCH_WARMUP_S (1), BENCH_DURATION_S (3), BENCH_ROUNDS (20).
 */
import { appUrlFor } from '../src/db/database-urls.ts';
import { benchFixture, type Cleanup } from './fixture.ts';
import { publishPlatformApp } from './graphql.ts';
import { AGENTS_QUERY, meetEveryTenant } from './load.ts';
import { benchEnv, compareSameRun } from './same-run.ts';
import { type Fixtures, seedTenants } from './seed.ts';
import { startServer } from './servers.ts';

const MAX_LOOKUP_COST = 0.02;
const APP = 'bench-app';
const settings = benchEnv({ tenants: 1000, rounds: 20, warmupS: 1, durationS: 3 });
const cleanups: Cleanup[] = [];

async function main(): Promise<void> {
  const { machine, db, keyringDir, tokens } = await benchFixture(settings.adminUrl, cleanups);
  const server = await startServer('fleetgate', './fleetgate-server.ts', {
    appUrl: appUrlFor(db.url),
    keyringDir,
    poolSize: settings.poolSize,
  });
  cleanups.push(server.stop);
  const fixtures: Fixtures = { tenants: [], agentOwner: new Map() };
  await seedTenants(db.url, fixtures, settings.tenants, tokens);

  const [hash] = await publishPlatformApp(server.port, tokens, APP, [AGENTS_QUERY]);

  console.log(
    `Trusted documents bench on ${db.name}: agents(first: 20) raw vs by hash (${APP}), ${settings.tenants} tenants, ` +
      `concurrency ${settings.concurrency}, ${settings.rounds} rounds of ${settings.durationMs / 1000} s each (${machine})`,
  );
  // Two views of the one process: only the request differs. Each tenant is met once both ways first,
  // as in `npm run bench`: the registry's first answer per tenant (one read) is not a per-request cost.
  const byHash = { ...server, name: 'by-hash', body: JSON.stringify({ documentId: hash }), headers: { 'x-graphql-client-name': APP } };
  const raw = { ...server, name: 'raw', body: JSON.stringify({ query: AGENTS_QUERY }) };
  for (const each of [byHash, raw]) {
    const ms = await meetEveryTenant({
      port: server.port,
      fixtures,
      concurrency: settings.concurrency,
      body: each.body,
      headers: each.headers,
    });
    console.log(`  ${each.name} met every tenant once in ${Math.round(ms)} ms`);
  }
  await compareSameRun({
    label: 'Trusted-document lookup',
    goal: MAX_LOOKUP_COST,
    with: byHash,
    without: raw,
    fixtures,
    settings: { ...settings, database: db.name },
  });
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
