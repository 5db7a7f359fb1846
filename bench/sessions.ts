/**
 * `npm run bench:sessions`: what the users' token liveness check (enter_user_request: the user is
 * ACTIVE at the token's version, its session live) costs on the hot read, `agents(first: 20)`.
 * Three gateway processes on one throw-away database of 1,000 tenants, each owner signed in with a
 * session: `fleetgate` as shipped (a token the database found live is remembered until the liveness
 * feed says its user changed, src/auth/token-liveness.ts), `always` started with
 * `--always-check-session` (every request checked in the database, nothing remembered), and
 * `no-check` started with `--without-session-check`. All serve the read on the one-round-trip path
 * (src/db/lean-read.ts); `no-check` opens its transaction with the same settings made by plain
 * `set_config` instead of enter_user_read, so the check is the only difference. Rounds alternate;
 * each round reads the gateway process's CPU and the Postgres backends' CPU (from /proc) around its
 * window. Goal (issue 17): the check costs at most 3 % of CPU per request (gateway + Postgres).
 *
 * Environment (all optional): BENCH_DATABASE_URL, BENCH_TENANTS (default 1000), BENCH_CONCURRENCY
 * (32), BENCH_POOL_SIZE (10), BENCH_WARMUP_S (2), BENCH_DURATION_S (5), BENCH_ROUNDS (6).
 */
import { appUrlFor } from '../src/db/database-urls.ts';
import { benchFixture, type Cleanup } from './fixture.ts';
import { type LoadResult, percentile, runLoad } from './load.ts';
import { type BackendCpu, backendCpu, cpuSince } from './postgres-cpu.ts';
import { type Fixtures, seedTenants } from './seed.ts';
import { type ServerProcess, startServer } from './servers.ts';

const MAX_CHECK_COST = 0.03;
const env = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
};
const settings = {
  adminUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  tenants: env('BENCH_TENANTS', 1000),
  concurrency: env('BENCH_CONCURRENCY', 32),
  poolSize: env('BENCH_POOL_SIZE', 10),
  warmupMs: env('BENCH_WARMUP_S', 2) * 1000,
  durationMs: env('BENCH_DURATION_S', 5) * 1000,
  rounds: env('BENCH_ROUNDS', 6),
};

interface Round {
  rate: number;
  /** µs of CPU per request: the gateway process, the database's backends. */
  gateway: number;
  database: number;
}

const cleanups: Cleanup[] = [];

async function main(): Promise<void> {
  const { machine, db, keyringDir, tokens } = await benchFixture(settings.adminUrl, cleanups);
  const config = { appUrl: appUrlFor(db.url), keyringDir, poolSize: settings.poolSize };
  const servers = [
    await startServer('fleetgate', './fleetgate-server.ts', config),
    await startServer('always', './fleetgate-server.ts', config, ['--always-check-session']),
    await startServer('no-check', './fleetgate-server.ts', config, ['--without-session-check']),
  ];
  for (const server of servers) cleanups.push(server.stop);
  const fixtures: Fixtures = { tenants: [], agentOwner: new Map() };
  await seedTenants(db.url, fixtures, settings.tenants, tokens);
  console.log(
    `Session check bench on ${db.name}: agents(first: 20), ${settings.tenants} tenants with a session each, concurrency ` +
      `${settings.concurrency}, ${settings.rounds} rounds of ${settings.durationMs / 1000} s per server (${machine})`,
  );

  const rounds = new Map<ServerProcess, Round[]>(servers.map((server) => [server, []]));
  for (let round = 0; round < settings.rounds; round++) {
    for (const server of round % 2 === 0 ? servers : [...servers].reverse()) {
      const measured = await measure(server, fixtures, db.name);
      rounds.get(server)?.push(measured);
      console.log(
        `  round ${round + 1} ${server.name.padEnd(10)} ${measured.rate.toFixed(0).padStart(6)} req/s  ` +
          `gateway ${measured.gateway.toFixed(0)} µs/req  postgres ${measured.database.toFixed(0)} µs/req`,
      );
    }
  }
  const median = (server: ServerProcess, pick: (r: Round) => number) => percentile((rounds.get(server) ?? []).map(pick), 50);
  const [checked, always, unchecked] = servers as [ServerProcess, ServerProcess, ServerProcess];
  const total = (server: ServerProcess) => median(server, (r) => r.gateway + r.database);
  const cost = total(checked) / total(unchecked) - 1;
  const uncachedCost = total(always) / total(unchecked) - 1;
  console.log(
    `\n${'server'.padEnd(10)} ${'req/s'.padStart(7)} ${'gateway µs'.padStart(11)} ${'postgres µs'.padStart(12)} ${'total µs'.padStart(9)}`,
  );
  for (const server of servers) {
    console.log(
      `${server.name.padEnd(10)} ${median(server, (r) => r.rate)
        .toFixed(0)
        .padStart(7)} ${median(server, (r) => r.gateway)
        .toFixed(0)
        .padStart(11)} ` +
        `${median(server, (r) => r.database)
          .toFixed(0)
          .padStart(12)} ${total(server).toFixed(0).padStart(9)}`,
    );
  }
  console.log(`\nChecked in the database on every request (nothing remembered): ${(uncachedCost * 100).toFixed(1)} % CPU per request`);
  console.log(
    `Session check: CPU per request ${(cost * 100).toFixed(1)} % (median of rounds, gateway + Postgres)  ` +
      `(goal <= ${MAX_CHECK_COST * 100} %)  ${cost <= MAX_CHECK_COST ? 'PASS' : 'MISS'}`,
  );
}

async function measure(server: ServerProcess, fixtures: Fixtures, database: string): Promise<Round> {
  const dbReadings: Promise<BackendCpu | null>[] = [];
  const result: LoadResult = await runLoad({
    port: server.port,
    fixtures,
    concurrency: settings.concurrency,
    warmupMs: settings.warmupMs,
    durationMs: settings.durationMs,
    serverCpuMicros: async () => {
      // Called at both ends of the window: the database's backends are read at the same moments.
      dbReadings.push(backendCpu(settings.adminUrl, database));
      return server.cpuMicros();
    },
  });
  const [dbStart, dbAtEnd] = await Promise.all(dbReadings);
  if (result.failed > 0 || result.foreignRows > 0) throw new Error(`${server.name}: ${result.examples.join('\n')}`);
  const requests = Math.max(result.requests, 1);
  return {
    rate: result.requests / result.seconds,
    gateway: result.serverCpuMsPerRequest * 1000,
    database: dbStart && dbAtEnd ? cpuSince(dbStart, dbAtEnd) / requests : Number.NaN,
  };
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
