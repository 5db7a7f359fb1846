/**
 * `npm run bench:documents`: what running the hot read as a trusted document costs against sending
 * the same query raw (issue 18). One gateway process (development mode, so it takes both) on a
 * throw-away database of 1,000 tenants; the read `agents(first: 20)` is published once as a platform
 * app version (`bench-app`), then each round sends it either raw (`{query}`) or by hash (`{documentId}`
 * with `x-graphql-client-name: bench-app`). Both reach the same parse/validate caches and the same
 * execution; the difference is the lookup (principal, app, per-replica cache). Rounds alternate
 * ABBA; each reads the gateway process's CPU and the Postgres backends' CPU around its window.
 * Goal: the trusted-document path costs at most 2 % more CPU per request (gateway + Postgres).
 *
 * Environment (all optional): BENCH_DATABASE_URL, BENCH_TENANTS (default 1000), BENCH_CONCURRENCY
 * (32), BENCH_POOL_SIZE (10), BENCH_WARMUP_S (2), BENCH_DURATION_S (5), BENCH_ROUNDS (6).
 */
import { createHash } from 'node:crypto';
import { appUrlFor } from '../src/db/database-urls.ts';
import { benchFixture, type Cleanup } from './fixture.ts';
import { AGENTS_QUERY, type LoadResult, percentile, runLoad } from './load.ts';
import { type BackendCpu, backendCpu, cpuSince } from './postgres-cpu.ts';
import { type Fixtures, seedTenants } from './seed.ts';
import { type ServerProcess, startServer } from './servers.ts';

const MAX_LOOKUP_COST = 0.02;
const APP = 'bench-app';
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

interface Variant {
  name: string;
  body: string;
  headers?: Record<string, string>;
}

interface Round {
  rate: number;
  /** µs of CPU per request: the gateway process, the database's backends. */
  gateway: number;
  database: number;
}

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

  const hash = `sha256:${createHash('sha256').update(AGENTS_QUERY).digest('hex')}`;
  const operator = (await tokens.issue({ kind: 'operator', operatorId: 'bench' })).reveal();
  const published = await fetch(`http://127.0.0.1:${server.port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${operator}` },
    body: JSON.stringify({
      query: 'mutation ($input: PublishDocumentsInput!) { publishDocuments(input: $input) { app { versions { version documentCount } } } }',
      variables: { input: { app: APP, version: '1.0.0', platform: true, documents: { [hash]: AGENTS_QUERY } } },
    }),
  });
  const answer = (await published.json()) as { errors?: unknown[] };
  if (answer.errors) throw new Error(`publishing the bench app failed: ${JSON.stringify(answer.errors)}`);

  const variants: Variant[] = [
    { name: 'raw', body: JSON.stringify({ query: AGENTS_QUERY }) },
    { name: 'by-hash', body: JSON.stringify({ documentId: hash }), headers: { 'x-graphql-client-name': APP } },
  ];
  console.log(
    `Trusted documents bench on ${db.name}: agents(first: 20) raw vs by hash (${APP}), ${settings.tenants} tenants, ` +
      `concurrency ${settings.concurrency}, ${settings.rounds} rounds of ${settings.durationMs / 1000} s each (${machine})`,
  );
  const rounds = new Map<Variant, Round[]>(variants.map((variant) => [variant, []]));
  for (let round = 0; round < settings.rounds; round++) {
    for (const variant of round % 2 === 0 ? variants : [...variants].reverse()) {
      const measured = await measure(server, variant, fixtures, db.name);
      rounds.get(variant)?.push(measured);
      console.log(
        `  round ${round + 1} ${variant.name.padEnd(8)} ${measured.rate.toFixed(0).padStart(6)} req/s  ` +
          `gateway ${measured.gateway.toFixed(0)} µs/req  postgres ${measured.database.toFixed(0)} µs/req`,
      );
    }
  }
  const median = (variant: Variant, pick: (r: Round) => number) => percentile((rounds.get(variant) ?? []).map(pick), 50);
  const total = (variant: Variant) => median(variant, (r) => r.gateway + r.database);
  const [raw, byHash] = variants as [Variant, Variant];
  // Each round measures both variants back to back: the ratio within a round cancels the drift of a
  // shared machine's load between rounds, which the medians of each variant alone do not.
  const ratios = (pick: (r: Round) => number) =>
    (rounds.get(byHash) ?? []).map((round, i) => pick(round) / pick((rounds.get(raw) ?? [])[i] as Round) - 1);
  const cost = percentile(
    ratios((r) => r.gateway + r.database),
    50,
  );
  const gatewayCost = percentile(
    ratios((r) => r.gateway),
    50,
  );
  const spread = ratios((r) => r.gateway + r.database).sort((x, y) => x - y);
  console.log(
    `\n${'variant'.padEnd(8)} ${'req/s'.padStart(7)} ${'gateway µs'.padStart(11)} ${'postgres µs'.padStart(12)} ${'total µs'.padStart(9)}`,
  );
  for (const variant of variants) {
    console.log(
      `${variant.name.padEnd(8)} ${median(variant, (r) => r.rate)
        .toFixed(0)
        .padStart(7)} ${median(variant, (r) => r.gateway)
        .toFixed(0)
        .padStart(11)} ${median(variant, (r) => r.database)
        .toFixed(0)
        .padStart(12)} ${total(variant).toFixed(0).padStart(9)}`,
    );
  }
  console.log(
    `\nTrusted-document lookup: CPU per request ${(cost * 100).toFixed(1)} % (gateway alone ${(gatewayCost * 100).toFixed(1)} %; ` +
      `median of the rounds' by-hash/raw ratios, gateway + Postgres; rounds from ${((spread[0] ?? 0) * 100).toFixed(0)} % ` +
      `to ${((spread.at(-1) ?? 0) * 100).toFixed(0)} %)  (goal <= ${MAX_LOOKUP_COST * 100} %)  ${cost <= MAX_LOOKUP_COST ? 'PASS' : 'MISS'}`,
  );
}

async function measure(server: ServerProcess, variant: Variant, fixtures: Fixtures, database: string): Promise<Round> {
  const dbReadings: Promise<BackendCpu | null>[] = [];
  const result: LoadResult = await runLoad({
    port: server.port,
    fixtures,
    concurrency: settings.concurrency,
    warmupMs: settings.warmupMs,
    durationMs: settings.durationMs,
    body: variant.body,
    headers: variant.headers,
    serverCpuMicros: async () => {
      dbReadings.push(backendCpu(settings.adminUrl, database));
      return server.cpuMicros();
    },
  });
  const [dbStart, dbAtEnd] = await Promise.all(dbReadings);
  if (result.failed > 0 || result.foreignRows > 0) throw new Error(`${variant.name}: ${result.examples.join('\n')}`);
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
