/**
 * `npm run bench:sessions`: what the users' token liveness check (enter_user_request: the user is
 * ACTIVE at the token's version, its session live) costs on the hot read, `agents(first: 20)`.
 * One database of 1,000 tenants, each owner signed in with a session, all reads on the
 * one-round-trip path (src/db/lean-transaction.ts):
 * - `fleetgate` and `no-check` are two modes of ONE gateway process, switched between rounds on its
 *   stdin (TestingSwitches.withoutSessionCheck is read per request): the check as shipped (a token
 *   the database found live is remembered until the liveness feed announces a change to its user,
 *   src/auth/token-liveness.ts) against the same settings made by plain `set_config`. Two processes
 *   on this kind of VM differ by more than the few percent to be measured; one process does not.
 * - `always`, a second process started with `--always-check-session`: every request checked in the
 *   database, nothing remembered (what shipped before the memory), for its Postgres cost.
 * Rounds alternate and are compared in pairs (bench/same-run.ts): many short rounds, since the
 * pairs cancel this VM's drift between windows. Goal (issue 17): the check costs at most 3 % of CPU
 * per request (gateway + Postgres). The memory's own cost is also timed alone, in this process.
 *
 * Environment (all optional): BENCH_DATABASE_URL, BENCH_TENANTS (default 1000), BENCH_CONCURRENCY
 * (32), BENCH_POOL_SIZE (10), BENCH_WARMUP_S (1), BENCH_DURATION_S (3), BENCH_ROUNDS (20), BENCH_ALWAYS
 * (0: without the `always` process, for many short rounds of the two modes alone).
 */
import { TokenLiveness } from '../src/auth/token-liveness.ts';
import { appUrlFor } from '../src/db/database-urls.ts';
import { benchFixture, type Cleanup } from './fixture.ts';
import { benchEnv, compareSameRun } from './same-run.ts';
import { type Fixtures, seedTenants } from './seed.ts';
import { modeOf, startServer } from './servers.ts';

const MAX_CHECK_COST = 0.03;
const settings = benchEnv({ tenants: 1000, rounds: 20, warmupS: 1, durationS: 3 });
const cleanups: Cleanup[] = [];

async function main(): Promise<void> {
  const { machine, db, keyringDir, tokens } = await benchFixture(settings.adminUrl, cleanups);
  const config = { appUrl: appUrlFor(db.url), keyringDir, poolSize: settings.poolSize };
  const gateway = await startServer('fleetgate', './fleetgate-server.ts', config);
  cleanups.push(gateway.stop);
  const checked = modeOf(gateway, 'fleetgate', 'mode check');
  const unchecked = modeOf(gateway, 'no-check', 'mode no-check');
  const also = [];
  if (process.env.BENCH_ALWAYS !== '0') {
    const always = await startServer('always', './fleetgate-server.ts', config, ['--always-check-session']);
    cleanups.push(always.stop);
    also.push(always);
  }
  const fixtures: Fixtures = { tenants: [], agentOwner: new Map() };
  await seedTenants(db.url, fixtures, settings.tenants, tokens);
  console.log(
    `Session check bench on ${db.name}: agents(first: 20), ${settings.tenants} tenants with a session each, concurrency ` +
      `${settings.concurrency}, ${settings.rounds} rounds of ${settings.durationMs / 1000} s per server (${machine})`,
  );
  const cost = await compareSameRun({
    label: 'Session check',
    goal: MAX_CHECK_COST,
    with: checked,
    without: unchecked,
    also,
    fixtures,
    settings: { ...settings, database: db.name },
  });
  // What a remembered token costs the gateway per request, alone: the round-to-round spread of two
  // processes on a shared VM is far larger than this, so it is timed here too, in this process.
  const perCall = timeVouching(settings.tenants);
  console.log(
    `TokenLiveness.vouchesFor alone: ${perCall.toFixed(2)} µs per request (${settings.tenants} users remembered); ` +
      `the same-run difference above: ${(cost * 100).toFixed(1)} %`,
  );
}

/** µs per vouchesFor call for one of `users` remembered tokens, over a million calls. */
function timeVouching(users: number): number {
  const liveness = new TokenLiveness(() => true);
  const principals = Array.from({ length: users }, () => ({
    kind: 'user' as const,
    tenantId: crypto.randomUUID(),
    userId: crypto.randomUUID(),
    role: 'OWNER' as const,
    tokenVersion: 1,
    sessionId: crypto.randomUUID(),
  }));
  for (const principal of principals) liveness.remember(principal, liveness.generation);
  const calls = 1_000_000;
  let vouched = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) if (liveness.vouchesFor(principals[i % users] as (typeof principals)[number])) vouched += 1;
  const micros = Number(process.hrtime.bigint() - started) / 1_000 / calls;
  if (vouched !== calls) throw new Error('a remembered token was not vouched for');
  return micros;
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
