/**
 * `npm run bench:metrics`: what the metrics cost the whole gateway on the hot read,
 * `agents(first: 20)`, measured on and off in the same run. Two gateway processes on one
 * throw-away database: `metrics` as shipped (per-request histograms and counters, process metrics:
 * event loop and GC observers), and `no-metrics` started with `--without-metrics`, which is what
 * METRICS_ENABLED=false runs (the per-operation log line stays in both). Rounds alternate ABBA
 * (bench/same-run.ts, the machinery of bench/sessions.ts). Goal (issue 20): at most 3 % of CPU per
 * request. `npm run bench:metrics-calls` times the metric calls alone.
 *
 * Environment (all optional): BENCH_DATABASE_URL, BENCH_TENANTS (default 200), BENCH_CONCURRENCY
 * (32), BENCH_POOL_SIZE (10), BENCH_WARMUP_S (1), BENCH_DURATION_S (3), BENCH_ROUNDS (20).
 */
import { appUrlFor } from '../src/db/database-urls.ts';
import { benchFixture, type Cleanup } from './fixture.ts';
import { benchEnv, compareSameRun } from './same-run.ts';
import { type Fixtures, seedTenants } from './seed.ts';
import { startServer } from './servers.ts';

const MAX_METRICS_COST = 0.03;
const settings = benchEnv({ tenants: 200, rounds: 20, warmupS: 1, durationS: 3 });
const cleanups: Cleanup[] = [];

async function main(): Promise<void> {
  const { machine, db, keyringDir, tokens } = await benchFixture(settings.adminUrl, cleanups);
  const config = { appUrl: appUrlFor(db.url), keyringDir, poolSize: settings.poolSize };
  const on = await startServer('metrics', './fleetgate-server.ts', config);
  cleanups.push(on.stop);
  const off = await startServer('no-metrics', './fleetgate-server.ts', config, ['--without-metrics']);
  cleanups.push(off.stop);
  const fixtures: Fixtures = { tenants: [], agentOwner: new Map() };
  await seedTenants(db.url, fixtures, settings.tenants, tokens);
  console.log(
    `Metrics bench on ${db.name}: agents(first: 20), ${settings.tenants} tenants, concurrency ${settings.concurrency}, ` +
      `${settings.rounds} rounds of ${settings.durationMs / 1000} s per server (${machine})`,
  );
  await compareSameRun({
    label: 'Metrics',
    goal: MAX_METRICS_COST,
    with: on,
    without: off,
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
