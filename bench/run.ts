/**
 * `npm run bench`: Fleetgate's `agents(first: 20) { id name status }` against two peers on the same
 * data and the same RLS policies — a bare graphql-yoga + `pg` gateway with named prepared statements
 * (bench/yoga-pg-server.ts) and PostGraphile 5 (bench/postgraphile-server.ts) — at 1,000 and 10,000
 * tenants of 20 agents each, on a throw-away database, one server at a time. Prints req/s, p50/p99,
 * the gateway process's CPU per request and the Postgres backends' CPU per request (/proc) for each
 * server and point, and the goals of issue 24 (report, not gate: a MISS still exits 0). Every
 * response is checked (count, ownership, errors). Exits non-zero if any response carried a foreign
 * row or an error, or the run itself failed.
 *
 * Environment (all optional):
 *   BENCH_DATABASE_URL  administrative URL (default postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_TENANTS       data-set sizes, ascending (default 1000,10000)
 *   BENCH_CONCURRENCY   concurrent requests (default 32)
 *   BENCH_POOL_SIZE     database pool size of both servers (default 10, the ORM's default)
 *   BENCH_WARMUP_S      warm-up before each measurement (default 2)
 *   BENCH_DURATION_S    length of each measurement (default 6)
 *   BENCH_ROUNDS        measurements per server and point (default 4)
 *   BENCH_POLICY_COST   0: skip `fleetgate-bare`, the gateway without its request policies (default 1)
 *   BENCH_PEERS         0: skip the peers (yoga-pg, postgraphile), e.g. for a quick before/after (default 1)
 *   BENCH_FREEZES       freeze propagation samples between two gateway replicas (default 10)
 *   BENCH_CPU_PROF      a directory: each server writes <name>.cpuprofile there when it stops
 *   BENCH_BASELINE      another checkout (with node_modules): its gateway runs as `baseline` in the same
 *                       rounds, the reads' and the write's, for a before/after comparison under the same load
 *   BENCH_MODE          production (default): Fleetgate in FLEETGATE_MODE=production, its operations
 *                       published as a platform app and sent by id; development: sent as raw queries
 *   BENCH_LOG_LEVEL     Fleetgate's log level (default info, the production default), lines into a file
 *   BENCH_MUTATION      0: skip the write comparison (updateAgent against PostGraphile's, with and
 *                       without the same audit, default 1)
 *   BENCH_READS         0: skip the reads, e.g. to profile the write alone (default 1)
 *
 * Before the rounds at each point every server answers each tenant once (meetEveryTenant), as a
 * long-running replica has: the rounds measure the steady state, and the pass's time is printed.
 *
 * With two points or more, `fleetgate-small` (a second Fleetgate on a second database seeded to the
 * first point's size) takes part in every point's read rounds. The 10,000/1,000 goal compares
 * Fleetgate with itself: measured at the two points minutes apart, the ratio carried the machine's
 * drift and the process's warm-up (0.65 to 1.27 over five runs of the same code), so it is read
 * from the largest point's rounds, against `fleetgate-small` in the same ABBA rounds, and decided on
 * their ABBA blocks as bench/same-run.ts decides a feature's cost (PASS or MISS only when the
 * median's interval is wholly on one side; more rounds narrow it). At the first point the two are
 * the same size: their ratio there is what one run's noise looks like.
 *
 * Fleetgate runs with the whole policy stack (trusted documents, limits, rate limits, CSRF, audit);
 * `fleetgate-bare` (BENCH_POLICY_COST) runs without it, raw queries in development mode. After the
 * reads, at the largest point: the write of bench/mutation.ts, Fleetgate against yoga-pg's and
 * PostGraphile's as they come (the goals) and against `postgraphile-audit`, a second PostGraphile
 * process whose renames write the same audit event into the same chain (like for like, no goal),
 * after each has written to every tenant once (each tenant's audit chain started, as on a deployed
 * replica).
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { appUrlFor } from '../src/db/database-urls.ts';
import { benchFixture, type Cleanup, migratedDatabase } from './fixture.ts';
import { MAX_FREEZE_PROPAGATION_MS, measureFreezePropagation } from './freeze-propagation.ts';
import { publishPlatformApp } from './graphql.ts';
import { AGENTS_QUERY, type LoadResult, meetEveryTenant, runLoad } from './load.ts';
import { checkPeerAudit, checkRename, FLEETGATE_UPDATE, installPeerAudit, renameBodies } from './mutation.ts';
import { backendCpu } from './postgres-cpu.ts';
import { describeRound, type Measurement, merge, renderReport, renderWriteReport, SMALL_TWIN } from './report.ts';
import { AGENTS_PER_TENANT, type Fixtures, seedTenants, settle, withClient } from './seed.ts';
import { type ServerProcess, startServer } from './servers.ts';
import { positiveNumber, positiveSetting } from './settings.ts';

const settings = {
  adminUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  points: (process.env.BENCH_TENANTS ?? '1000,10000').split(',').map((n) => positiveNumber('BENCH_TENANTS', n)),
  concurrency: positiveSetting('BENCH_CONCURRENCY', 32),
  poolSize: positiveSetting('BENCH_POOL_SIZE', 10),
  warmupMs: positiveSetting('BENCH_WARMUP_S', 2) * 1000,
  durationMs: positiveSetting('BENCH_DURATION_S', 6) * 1000,
  rounds: positiveSetting('BENCH_ROUNDS', 4),
  policyCost: process.env.BENCH_POLICY_COST !== '0',
  peers: process.env.BENCH_PEERS !== '0',
  freezes: positiveSetting('BENCH_FREEZES', 10),
  production: oneOf('BENCH_MODE', process.env.BENCH_MODE ?? 'production', ['production', 'development']) === 'production',
  mutation: process.env.BENCH_MUTATION !== '0',
  reads: process.env.BENCH_READS !== '0',
};
/** The platform app the bench's operations are published as, in production mode. */
const BENCH_APP = 'bench';

class BenchFailure extends Error {}

/** Undone in reverse order on every exit path: servers, keyring directory, database. */
const cleanups: Cleanup[] = [];

async function main(): Promise<void> {
  const { machine, db, keyringDir, tokens } = await benchFixture(settings.adminUrl, cleanups);

  const childConfig = { appUrl: appUrlFor(db.url), keyringDir, poolSize: settings.poolSize };
  const logInto = (name: string) => ({ env: { BENCH_LOG_FILE: join(keyringDir, `${name}.log`) } });
  const fleetgateArgs = settings.production ? ['--production'] : [];
  const starting = [startServer('fleetgate', './fleetgate-server.ts', childConfig, fleetgateArgs, logInto('fleetgate'))];
  const smallDb = settings.reads && settings.points.length > 1 ? await migratedDatabase(settings.adminUrl, cleanups) : undefined;
  if (smallDb) {
    const smallConfig = { ...childConfig, appUrl: appUrlFor(smallDb.url) };
    starting.push(startServer(SMALL_TWIN, './fleetgate-server.ts', smallConfig, fleetgateArgs, logInto(SMALL_TWIN)));
  }
  if (settings.peers) {
    starting.push(startServer('yoga-pg', './yoga-pg-server.ts', childConfig));
    // PostGraphile's Amber preset names the table's connection `allAgents` and the uuid column `rowId`.
    const postgraphileQuery = `{ agents: allAgents(first: ${AGENTS_PER_TENANT}, orderBy: PRIMARY_KEY_ASC) { edges { node { id: rowId name status } } } }`;
    starting.push(
      startServer('postgraphile', './postgraphile-server.ts', childConfig, [], { body: JSON.stringify({ query: postgraphileQuery }) }),
    );
    if (settings.mutation) starting.push(startServer('postgraphile-audit', './postgraphile-server.ts', childConfig, ['--audit']));
  }
  if (settings.policyCost) {
    starting.push(startServer('fleetgate-bare', './fleetgate-server.ts', childConfig, ['--without-policies'], logInto('fleetgate-bare')));
  }
  const baseline = process.env.BENCH_BASELINE;
  if (baseline) {
    const script = pathToFileURL(join(resolve(baseline), 'bench/fleetgate-server.ts')).href;
    starting.push(startServer('baseline', script, childConfig, fleetgateArgs, logInto('baseline')));
  }
  // allSettled: a server that did start is still stopped when another one fails to.
  const started = await Promise.allSettled(starting);
  for (const outcome of started) if (outcome.status === 'fulfilled') cleanups.push(outcome.value.stop);
  const servers = started.map((outcome) => {
    if (outcome.status === 'rejected') throw outcome.reason;
    return outcome.value;
  });
  // The audited PostGraphile serves the write only; fleetgate-small reads on its own data set.
  const [postgraphileAudit, twin] = ['postgraphile-audit', SMALL_TWIN].map((name) => {
    const server = servers.find((s) => s.name === name);
    if (server) servers.splice(servers.indexOf(server), 1);
    return server;
  });
  const [fleetgate] = servers as [ServerProcess];
  // In production mode users run published documents only: the bench's client publishes its
  // operations as a platform app, then sends them by id, naming the app, as a deployed client does.
  const [readId, updateId] = settings.production
    ? await publishPlatformApp(fleetgate.port, tokens, BENCH_APP, [AGENTS_QUERY, FLEETGATE_UPDATE])
    : [null, null];
  if (twin && settings.production) await publishPlatformApp(twin.port, tokens, BENCH_APP, [AGENTS_QUERY]);
  // Fleetgate, its twin and its baseline (another checkout, same mode) are sent the read by id.
  const byId = (server: ServerProcess): ServerProcess =>
    readId ? { ...server, body: JSON.stringify({ documentId: readId }), headers: { 'x-graphql-client-name': BENCH_APP } } : server;
  for (const [i, server] of servers.entries()) if (server.name === 'fleetgate' || server.name === 'baseline') servers[i] = byId(server);
  // fleetgate-small reads its own data set in every point's rounds (see the header).
  const elsewhere = new Map<ServerProcess, DataSet>();
  if (twin && smallDb)
    elsewhere.set(byId(twin), { tenants: settings.points[0] ?? 0, fixtures: { tenants: [], agentOwner: new Map() }, database: smallDb });

  const { concurrency, poolSize, warmupMs, durationMs, rounds } = settings;
  console.log(
    `Fleetgate bench on ${db.name}: agents(first: 20), concurrency ${concurrency}, pool ${poolSize}, ` +
      `${rounds} round(s) of ${warmupMs / 1000} s warm-up + ${durationMs / 1000} s per server and point, Fleetgate in ` +
      `${settings.production ? `production mode (by trusted document)` : 'development mode (raw queries)'} at log level ` +
      `${process.env.BENCH_LOG_LEVEL ?? 'info'} (${machine})`,
  );

  const fixtures: Fixtures = { tenants: [], agentOwner: new Map() };
  const measurements: Measurement[] = [];
  let checked = 0;
  for (const [server, on] of elsewhere) {
    await seedTenants(on.database.url, on.fixtures, on.tenants, tokens);
    const ms = await meetEveryTenant({ ...server, fixtures: on.fixtures, concurrency });
    console.log(
      `${server.name}: ${on.tenants.toLocaleString('en-US')} tenants on a database of its own, each met once in ${Math.round(ms)} ms`,
    );
  }
  for (const tenants of settings.points) {
    const seedStart = performance.now();
    await seedTenants(db.url, fixtures, tenants, tokens);
    console.log(
      `\n${tenants.toLocaleString('en-US')} tenants seeded (${fixtures.agentOwner.size} agents, ${Math.round(performance.now() - seedStart)} ms)`,
    );
    for (const server of servers) {
      const ms = await meetEveryTenant({ port: server.port, fixtures, concurrency, body: server.body, headers: server.headers });
      console.log(`  ${server.name} met every tenant once in ${Math.round(ms)} ms`);
    }
    if (!settings.reads) continue;
    const reads = await measureRounds([...servers, ...elsewhere.keys()], { tenants, fixtures, database: db }, elsewhere);
    measurements.push(...reads.measurements);
    checked += reads.checked;
  }
  if (settings.reads) console.log(renderReport(measurements, settings.points));

  const [yogaPg, postgraphile] = ['yoga-pg', 'postgraphile'].map((name) => servers.find((server) => server.name === name));
  if (settings.mutation && yogaPg && postgraphile && postgraphileAudit) {
    await installPeerAudit(db.url);
    const largest = settings.points.at(-1) ?? 0;
    const bodies = renameBodies(fixtures, updateId);
    console.log(`\nThe write at ${largest.toLocaleString('en-US')} tenants: rename an agent (bench/mutation.ts)`);
    const writers = [
      { ...(servers[0] as ServerProcess), body: bodies.fleetgate, check: checkRename },
      { ...yogaPg, body: bodies.yogaPg, check: checkRename },
      { ...postgraphile, body: bodies.postgraphile, check: checkRename },
      { ...postgraphileAudit, body: bodies.postgraphile, check: checkRename },
      // Another checkout's gateway writes as Fleetgate does (same database, so the same published documents).
      ...servers
        .filter((server) => server.name === 'baseline')
        .map((server) => ({ ...server, body: bodies.fleetgate, check: checkRename })),
    ];
    // Every tenant written once first, as on a replica that has served them for a while: the rounds
    // then measure the steady state (each tenant's audit chain started), not a tenant's first audit
    // event, which most of the first round's writes at 10,000 tenants were.
    for (const writer of writers) {
      const ms = await meetEveryTenant({ ...writer, fixtures, concurrency });
      console.log(`  ${writer.name} wrote to every tenant once in ${Math.round(ms)} ms`);
    }
    await withClient(db.url, (client) => settle(client, ['agents', 'audit_events']));
    const writes = await measureRounds(writers, { tenants: largest, fixtures, database: db });
    checked += writes.checked;
    console.log(renderWriteReport(writes.measurements));
    const audited = writes.measurements.find((m) => m.server === 'postgraphile-audit')?.requests ?? 0;
    const { written, verified } = await checkPeerAudit(db.url, keyringDir, fixtures, audited);
    console.log(`  postgraphile-audit wrote ${written} audit events (${audited} measured answers); ${verified} tenants' chains verify`);
  }

  // Freeze propagation: freeze through one gateway process, measured at another (both LISTEN for
  // tenant policy changes). Needs two Fleetgate replicas: the bare one is a second replica here, and
  // the one probed, since its probe is a raw query (a `baseline` in production mode would refuse it).
  const replicas = ['fleetgate', 'fleetgate-bare'].flatMap((name) => servers.filter((server) => server.name === name));
  const tenant = fixtures.tenants[0];
  if (replicas.length >= 2 && tenant && replicas[0] && replicas[1]) {
    const samples = await measureFreezePropagation({
      portA: replicas[0].port,
      portB: replicas[1].port,
      tenant,
      tokens,
      times: settings.freezes,
    });
    const sorted = [...samples].sort((a, b) => a - b);
    const p50 = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
    const max = sorted.at(-1) ?? Number.NaN;
    const verdict = max <= MAX_FREEZE_PROPAGATION_MS ? 'PASS' : 'MISS';
    console.log(
      `\nFreeze propagation between two replicas (${samples.length} freezes): p50 ${p50.toFixed(1)} ms, max ${max.toFixed(1)} ms  (goal <= ${MAX_FREEZE_PROPAGATION_MS} ms)  ${verdict}`,
    );
  }
  console.log(`\nEvery one of ${checked} responses checked: no foreign rows, no errors.`);
}

/** A data set the rounds run on: its size, its tenants' tokens and agents, its database. */
interface DataSet {
  tenants: number;
  fixtures: Fixtures;
  database: { name: string; url: string };
}

/**
 * `settings.rounds` ABBA rounds of each server on the data set `point` (or the one `elsewhere` names
 * for it); throws on any wrong answer. Returns a measurement per server, each at `point.tenants`
 * (the rounds it was measured in), and how many answers were checked.
 */
async function measureRounds(
  servers: ServerProcess[],
  point: DataSet,
  elsewhere: ReadonlyMap<ServerProcess, DataSet> = new Map(),
): Promise<{ measurements: Measurement[]; checked: number }> {
  let checked = 0;
  const results = new Map<ServerProcess, LoadResult[]>(servers.map((server) => [server, []]));
  for (let round = 0; round < settings.rounds; round++) {
    // ABBA order (ABBAABBA over rounds), so drift and bursts of other load on the machine do not favour one server.
    const order = round % 2 === 0 ? servers : [...servers].reverse();
    for (const server of order) {
      const on = elsewhere.get(server) ?? point;
      const result = await runLoad({
        port: server.port,
        fixtures: on.fixtures,
        concurrency: settings.concurrency,
        warmupMs: settings.warmupMs,
        durationMs: settings.durationMs,
        serverCpuMicros: server.cpuMicros,
        databaseCpu: () => backendCpu(settings.adminUrl, on.database.name),
        body: server.body,
        headers: server.headers,
        check: server.check,
      });
      checked += result.checked;
      console.log(`  round ${round + 1} ${server.name.padEnd(18)} ${describeRound(result)}`);
      if (result.failed > 0 || result.foreignRows > 0) {
        throw new BenchFailure(
          `${server.name} at ${on.tenants} tenants: ${result.foreignRows} foreign row(s), ${result.failed} bad response(s) of ${result.checked}:\n  ` +
            result.examples.join('\n  '),
        );
      }
      results.get(server)?.push(result);
    }
  }
  return { measurements: [...results].map(([server, serverRounds]) => merge(point.tenants, server.name, serverRounds)), checked };
}

async function cleanUp(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup().catch((error: unknown) => console.error(`cleanup failed: ${error instanceof Error ? error.message : String(error)}`));
  }
}

function oneOf(name: string, value: string, allowed: string[]): string {
  if (!allowed.includes(value)) throw new Error(`${name} must be one of ${allowed.join(', ')}, got ${value}`);
  return value;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: cleaning up`);
    void cleanUp().finally(() => process.exit(130));
  });
}

main()
  .then(cleanUp, async (error: unknown) => {
    console.error(error instanceof BenchFailure ? `\nFAIL: ${error.message}` : error);
    await cleanUp();
    process.exitCode = 1;
  })
  .catch(() => {
    process.exitCode = 1;
  });
