/**
 * The same-run comparison of two gateway processes on one database: rounds alternate ABBA, each
 * round reads the gateway process's CPU and the Postgres backends' CPU (from /proc) around its load
 * window, and the result is the median per server and the cost of the first over the second in CPU
 * per request (gateway + Postgres). bench/sessions.ts (the session check) and bench/metrics.ts (the
 * metrics) are two uses of it.
 */
import { type LoadResult, percentile, runLoad } from './load.ts';
import { type BackendCpu, backendCpu, cpuSince } from './postgres-cpu.ts';
import type { Fixtures } from './seed.ts';
import type { ServerProcess } from './servers.ts';

export interface SameRunSettings {
  adminUrl: string;
  /** The bench database's name: its backends are the ones whose CPU is read. */
  database: string;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  rounds: number;
}

interface Round {
  rate: number;
  /** µs of CPU per request: the gateway process, the database's backends. */
  gateway: number;
  database: number;
}

/**
 * Runs `rounds` ABBA rounds of `with` (the feature on) and `without` (off), and of `also` (variants
 * reported beside them, each against `without`), prints each round and the medians, and prints
 * `label`'s cost in CPU per request against `goal` (a fraction); returns the cost.
 */
export async function compareSameRun(options: {
  label: string;
  goal: number;
  with: ServerProcess;
  without: ServerProcess;
  also?: ServerProcess[];
  fixtures: Fixtures;
  settings: SameRunSettings;
}): Promise<number> {
  const servers = [options.with, ...(options.also ?? []), options.without];
  const rounds = new Map<ServerProcess, Round[]>(servers.map((server) => [server, []]));
  for (let round = 0; round < options.settings.rounds; round++) {
    for (const server of round % 2 === 0 ? servers : [...servers].reverse()) {
      const measured = await measure(server, options.fixtures, options.settings);
      rounds.get(server)?.push(measured);
      console.log(
        `  round ${round + 1} ${server.name.padEnd(10)} ${measured.rate.toFixed(0).padStart(6)} req/s  ` +
          `gateway ${measured.gateway.toFixed(0)} µs/req  postgres ${measured.database.toFixed(0)} µs/req`,
      );
    }
  }
  const median = (server: ServerProcess, pick: (r: Round) => number) => percentile((rounds.get(server) ?? []).map(pick), 50);
  const total = (server: ServerProcess) => median(server, (r) => r.gateway + r.database);
  const cost = total(options.with) / total(options.without) - 1;
  const gatewayCost = median(options.with, (r) => r.gateway) / median(options.without, (r) => r.gateway) - 1;
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
  // The same server's rounds differ by this much on their own (interquartile range over the median):
  // a difference smaller than that is not resolved by this run, whichever way it points.
  const totals = (server: ServerProcess) => (rounds.get(server) ?? []).map((r) => r.gateway + r.database);
  const spread = Math.max(
    ...servers.map((server) => (percentile(totals(server), 75) - percentile(totals(server), 25)) / percentile(totals(server), 50)),
  );
  for (const variant of options.also ?? []) {
    console.log(
      `\n${variant.name}: CPU per request ${((total(variant) / total(options.without) - 1) * 100).toFixed(1)} % against ${options.without.name}`,
    );
  }
  const unresolved = Math.abs(cost) < spread;
  const verdict = unresolved ? 'NOT RESOLVED' : cost <= options.goal ? 'PASS' : 'MISS';
  console.log(
    `\n${options.label}: CPU per request ${(cost * 100).toFixed(1)} % (median of rounds, gateway + Postgres; gateway alone ` +
      `${(gatewayCost * 100).toFixed(1)} %)  (goal <= ${options.goal * 100} %)  ${verdict}` +
      `\nround-to-round spread of one server: ${(spread * 100).toFixed(1)} %` +
      (unresolved ? ' (larger than the difference: this run does not resolve it; rerun on a quieter machine or with more rounds)' : ''),
  );
  return cost;
}

async function measure(server: ServerProcess, fixtures: Fixtures, settings: SameRunSettings): Promise<Round> {
  await server.prepare?.();
  const dbReadings: Promise<BackendCpu | null>[] = [];
  const result: LoadResult = await runLoad({
    port: server.port,
    fixtures,
    concurrency: settings.concurrency,
    warmupMs: settings.warmupMs,
    durationMs: settings.durationMs,
    serverCpuMicros: async () => {
      // Called at both ends of the window: the database's backends are read at the same moments.
      dbReadings.push(backendCpu(settings.adminUrl, settings.database));
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

/** The bench's environment (all optional): BENCH_DATABASE_URL, BENCH_TENANTS, BENCH_CONCURRENCY, … */
export function benchEnv(defaults: { tenants: number; rounds: number }) {
  const env = (name: string, fallback: number) => {
    const value = Number(process.env[name] ?? fallback);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
    return value;
  };
  return {
    adminUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    tenants: env('BENCH_TENANTS', defaults.tenants),
    concurrency: env('BENCH_CONCURRENCY', 32),
    poolSize: env('BENCH_POOL_SIZE', 10),
    warmupMs: env('BENCH_WARMUP_S', 2) * 1000,
    durationMs: env('BENCH_DURATION_S', 5) * 1000,
    rounds: env('BENCH_ROUNDS', defaults.rounds),
  };
}
