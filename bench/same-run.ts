/**
 * The same-run comparison of a feature on and off on one database: rounds alternate ABBA, each
 * round reads the gateway process's CPU and the Postgres backends' CPU (from /proc) around its load
 * window. The verdict rests on a paired statistic: each ABBA block (two rounds, the sides measured
 * in both orders back to back) gives one ratio, which cancels the drift of a shared VM's CPU between
 * windows (tens of percent here, even inside one process) and whatever favours the side measured
 * first or second in a round. The cost is the median of the blocks' ratios, with a distribution-free
 * 95 % interval; the verdict is PASS or MISS only when the whole interval is on one side of the
 * goal. bench/sessions.ts (the session check), bench/documents.ts (trusted documents) and
 * bench/metrics.ts (the metrics) are its uses.
 */
import { type LoadResult, percentile, runLoad } from './load.ts';
import { type BackendCpu, backendCpu, cpuSince } from './postgres-cpu.ts';
import type { Fixtures } from './seed.ts';
import type { ServerProcess } from './servers.ts';
import { positiveSetting } from './settings.ts';

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

const total = (round: Round) => round.gateway + round.database;

/** A median and the interval that holds the true median with the given confidence. */
export interface MedianInterval {
  median: number;
  low: number;
  high: number;
}

/**
 * The median of `values` and its distribution-free confidence interval from order statistics: the
 * k-th smallest and k-th largest values, with the largest k for which a Binomial(n, ½) falls below
 * k with probability at most (1 − confidence) / 2. Needs no assumption about the distribution of the
 * rounds (a busy VM's are skewed); with fewer than 6 values at 95 % it is the whole range.
 */
export function medianInterval(values: number[], confidence = 0.95): MedianInterval {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { median: Number.NaN, low: Number.NaN, high: Number.NaN };
  const tail = (1 - confidence) / 2;
  let k = 1;
  let below = 0.5 ** n; // P(B <= 0)
  let choose = 1;
  // Invariant: below = P(B <= k - 1) <= tail, so [x(k), x(n - k + 1)] (1-based) covers; grow k while it holds.
  while (k < n / 2) {
    choose = (choose * (n - k + 1)) / k;
    const next = below + choose * 0.5 ** n;
    if (next > tail) break;
    below = next;
    k += 1;
  }
  const covered = below <= tail;
  const middle = (sorted[Math.floor((n - 1) / 2)] as number) + (sorted[Math.ceil((n - 1) / 2)] as number);
  return {
    median: middle / 2,
    low: covered ? (sorted[k - 1] as number) : (sorted[0] as number),
    high: covered ? (sorted[n - k] as number) : (sorted[n - 1] as number),
  };
}

/**
 * The cost of `with` over `without` per ABBA block: rounds 2k and 2k+1 measured the sides in both
 * orders, and their sums give one ratio, minus one. A round's own ratio also carries the order the
 * sides ran in: in one run of `bench:documents` the side measured first in a round was the slower in
 * stretches of dozens of rounds, which doubled the spread of the rounds' ratios (a standard deviation
 * of 17.5 points against 10.2 for the blocks'). An odd last round has no partner and is left out.
 */
export function blockCosts(withRounds: readonly number[], withoutRounds: readonly number[]): number[] {
  const costs: number[] = [];
  for (let i = 0; i + 1 < Math.min(withRounds.length, withoutRounds.length); i += 2) {
    const withSum = (withRounds[i] as number) + (withRounds[i + 1] as number);
    const withoutSum = (withoutRounds[i] as number) + (withoutRounds[i + 1] as number);
    costs.push(withSum / withoutSum - 1);
  }
  return costs;
}

/**
 * PASS or MISS only when the interval is wholly on one side of the goal: a cost must be at most the
 * goal (the default), a ratio such as 10,000 against 1,000 tenants' req/s at least it.
 */
export function verdictOf(value: MedianInterval, goal: number, want: 'at most' | 'at least' = 'at most'): 'PASS' | 'MISS' | 'NOT RESOLVED' {
  const [pass, miss] = want === 'at most' ? [value.high <= goal, value.low > goal] : [value.low >= goal, value.high < goal];
  if (pass) return 'PASS';
  if (miss) return 'MISS';
  return 'NOT RESOLVED';
}

/**
 * Runs `rounds` ABBA rounds of `with` (the feature on), `without` (off) and `also` (variants
 * reported beside them, each against `without`), prints each round, the medians per server and the
 * paired cost of `with` against `without` in CPU per request (gateway + Postgres) against `goal`
 * (a fraction); returns the cost's median.
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
  // `with` and `without` side by side in both orders (ABBA), so each pair is measured back to back.
  const servers = [options.with, options.without, ...(options.also ?? [])];
  const rounds = new Map<ServerProcess, Round[]>(servers.map((server) => [server, []]));
  const of = (server: ServerProcess) => rounds.get(server) ?? [];
  for (let round = 0; round < options.settings.rounds; round++) {
    for (const server of round % 2 === 0 ? servers : [...servers].reverse()) {
      const measured = await measure(server, options.fixtures, options.settings);
      of(server).push(measured);
      console.log(
        `  round ${String(round + 1).padStart(2)} ${server.name.padEnd(10)} ${measured.rate.toFixed(0).padStart(6)} req/s  ` +
          `gateway ${measured.gateway.toFixed(0)} µs/req  postgres ${measured.database.toFixed(0)} µs/req`,
      );
    }
  }
  const median = (server: ServerProcess, pick: (r: Round) => number) => percentile(of(server).map(pick), 50);
  console.log(
    `\n${'server'.padEnd(10)} ${'req/s'.padStart(7)} ${'gateway µs'.padStart(11)} ${'postgres µs'.padStart(12)} ${'total µs'.padStart(9)}`,
  );
  for (const server of servers) {
    const column = (pick: (r: Round) => number, width: number) => median(server, pick).toFixed(0).padStart(width);
    console.log(
      `${server.name.padEnd(10)} ${column((r) => r.rate, 7)} ${column((r) => r.gateway, 11)} ${column((r) => r.database, 12)} ${column(total, 9)}`,
    );
  }
  const pairedCost = (server: ServerProcess, pick: (r: Round) => number) =>
    medianInterval(blockCosts(of(server).map(pick), of(options.without).map(pick)));
  const percent = (x: number) => `${(x * 100).toFixed(1)} %`;
  const described = (cost: MedianInterval) => `${percent(cost.median)} (95 % interval ${percent(cost.low)} to ${percent(cost.high)})`;
  for (const variant of options.also ?? []) {
    console.log(`\n${variant.name}: CPU per request ${described(pairedCost(variant, total))} against ${options.without.name}`);
  }
  const cost = pairedCost(options.with, total);
  const verdict = verdictOf(cost, options.goal);
  console.log(
    `\n${options.label}: CPU per request ${described(cost)}, gateway alone ${percent(pairedCost(options.with, (r) => r.gateway).median)}` +
      `\n  median of ${Math.floor(options.settings.rounds / 2)} ABBA blocks' ${options.with.name}/${options.without.name} ratios, gateway + Postgres` +
      `  (goal <= ${percent(options.goal)})  ${verdict}` +
      (verdict === 'NOT RESOLVED'
        ? '\n  the interval straddles the goal: rerun with more rounds (BENCH_ROUNDS) or on a quieter machine'
        : ''),
  );
  return cost.median;
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
    body: server.body,
    headers: server.headers,
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

/**
 * The bench's environment (all optional): BENCH_DATABASE_URL, BENCH_TENANTS, BENCH_CONCURRENCY,
 * BENCH_POOL_SIZE, BENCH_WARMUP_S and BENCH_DURATION_S (seconds, fractions allowed), BENCH_ROUNDS.
 */
export function benchEnv(defaults: { tenants: number; rounds: number; warmupS?: number; durationS?: number }) {
  return {
    adminUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    tenants: positiveSetting('BENCH_TENANTS', defaults.tenants),
    concurrency: positiveSetting('BENCH_CONCURRENCY', 32),
    poolSize: positiveSetting('BENCH_POOL_SIZE', 10),
    warmupMs: positiveSetting('BENCH_WARMUP_S', defaults.warmupS ?? 2, false) * 1000,
    durationMs: positiveSetting('BENCH_DURATION_S', defaults.durationS ?? 5, false) * 1000,
    rounds: positiveSetting('BENCH_ROUNDS', defaults.rounds),
  };
}
