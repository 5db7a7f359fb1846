import { type LoadResult, percentile } from './load.ts';
import { blockCosts, medianInterval, verdictOf } from './same-run.ts';

/**
 * The peers and the gateway `npm run bench` measures:
 * - `yoga-pg`: bare graphql-yoga + `pg`, one hand-written resolver, named prepared statements;
 * - `postgraphile`: PostGraphile 5, Amber preset, grafserv on node:http, JWT → pgSettings;
 * - `fleetgate`: the gateway as shipped; `fleetgate-bare` without its request policies (skip with
 *   BENCH_POLICY_COST=0); `baseline`: the gateway of another checkout (BENCH_BASELINE), before/after;
 *   `fleetgate-small` (SMALL_TWIN): the gateway as shipped on a second database of the first point's size.
 */
export type ServerName = 'yoga-pg' | 'postgraphile' | 'fleetgate' | 'fleetgate-bare' | 'baseline' | typeof SMALL_TWIN;

/**
 * A second Fleetgate, on a database of the first point's size, in every point's read rounds: the
 * 10,000/1,000 goal is read against it in the largest point's rounds (bench/run.ts).
 */
export const SMALL_TWIN = 'fleetgate-small';

/** Goals of issue 24. */
export const GOALS = {
  /** Fleetgate's req/s at least PostGraphile's. */
  throughputVsPostgraphile: 1,
  /** Fleetgate's gateway CPU per request at most 1.25 × yoga-pg's. */
  gatewayCpuVsYogaPg: 1.25,
  /** Fleetgate's Postgres CPU per request at most PostGraphile's. */
  postgresCpuVsPostgraphile: 1,
  /** 10,000 tenants within 10 % of 1,000 (req/s). */
  largeOverSmall: 0.9,
};
/** Issue 6: the full policy stack costs at most 10% of throughput. */
export const MIN_POLICY_RATIO = 0.9;

/** All rounds of one server at one data-set size, merged. */
export interface Measurement {
  tenants: number;
  server: string;
  requests: number;
  latenciesMs: number[];
  /** Per round, in round order: req/s, gateway CPU µs/req, Postgres CPU µs/req. */
  rounds: { rate: number; gatewayMicros: number; postgresMicros: number }[];
}

export function merge(tenants: number, server: string, rounds: readonly LoadResult[]): Measurement {
  return {
    tenants,
    server,
    requests: rounds.reduce((sum, r) => sum + r.requests, 0),
    latenciesMs: rounds.flatMap((r) => r.latenciesMs),
    rounds: rounds.map((r) => ({
      rate: throughput(r),
      gatewayMicros: r.serverCpuMsPerRequest * 1000,
      postgresMicros: r.postgresCpuMsPerRequest * 1000,
    })),
  };
}

export function throughput(m: { requests: number; seconds: number }): number {
  return m.requests / m.seconds;
}

/** Median over the rounds: a burst of other load on the shared machine moves one round, not the median. */
const median = (m: Measurement, pick: (round: Measurement['rounds'][number]) => number) => percentile(m.rounds.map(pick), 50);
export const rate = (m: Measurement) => median(m, (r) => r.rate);
export const gatewayMicros = (m: Measurement) => median(m, (r) => r.gatewayMicros);
export const postgresMicros = (m: Measurement) => median(m, (r) => r.postgresMicros);

export function describeRound(result: LoadResult): string {
  const p50 = fmt(percentile(result.latenciesMs, 50), 1);
  const p99 = fmt(percentile(result.latenciesMs, 99), 1);
  return (
    `${fmt(throughput(result), 0).padStart(6)} req/s  p50 ${p50} ms  p99 ${p99} ms  ` +
    `gateway ${fmt(result.serverCpuMsPerRequest * 1000, 0)} µs/req  postgres ${fmt(result.postgresCpuMsPerRequest * 1000, 0)} µs/req` +
    (result.autovacuumCpuMsPerRequest > 0 ? ` (autovacuum ${fmt(result.autovacuumCpuMsPerRequest * 1000, 0)})` : '') +
    `  client ${fmt(result.clientCpuMsPerRequest * 1000, 0)} µs/req` +
    (Number.isNaN(result.idleShare) ? '' : `  idle ${fmt(result.idleShare * 100, 0)} %`)
  );
}

/** The results table and the goal lines; returns the text to print. */
export function renderReport(measurements: readonly Measurement[], points: readonly number[]): string {
  const lines = table(measurements);
  if (measurements.some((m) => m.server === SMALL_TWIN))
    lines.push(`  (${SMALL_TWIN}: Fleetgate on a database of ${points[0]?.toLocaleString('en-US')} tenants, in every point's rounds)`);
  const find = (tenants: number, server: ServerName) => measurements.find((x) => x.tenants === tenants && x.server === server);

  lines.push('', 'Goals (issue 24): Fleetgate against its peers, same run, decided on ABBA blocks');
  for (const tenants of points) {
    const at = tenants.toLocaleString('en-US');
    const [fleetgate, postgraphile, yogaPg] = [find(tenants, 'fleetgate'), find(tenants, 'postgraphile'), find(tenants, 'yoga-pg')];
    if (!fleetgate) continue;
    if (postgraphile) lines.push(...peerGoals(fleetgate, postgraphile, ` at ${at}`));
    if (yogaPg) lines.push(gatewayGoal(fleetgate, yogaPg, ` at ${at}`));
  }
  // Fleetgate at the largest point against its twin on the first point's data, in the same rounds.
  const [small, large] = [points[0], points.at(-1)];
  const [after, twin] = [large !== undefined && find(large, 'fleetgate'), large !== undefined && find(large, SMALL_TWIN)];
  if (small !== large && after && twin) {
    lines.push(blockGoal(`fleetgate req/s ${tenantsLabel(large, small)}`, after, twin, (r) => r.rate, GOALS.largeOverSmall, 'at least'));
  }
  for (const tenants of points) {
    const [fleetgate, bare] = [find(tenants, 'fleetgate'), find(tenants, 'fleetgate-bare')];
    if (!fleetgate || !bare) continue;
    const label = `policies on/off req/s at ${tenants.toLocaleString('en-US')}`;
    lines.push(blockGoal(label, fleetgate, bare, (r) => r.rate, MIN_POLICY_RATIO, 'at least'));
  }

  lines.push('', 'For reference (CPU per request moves least when other processes share the machine)');
  const [before, sameSize] = [small !== undefined && find(small, 'fleetgate'), small !== undefined && find(small, SMALL_TWIN)];
  if (small !== large && before && after) {
    lines.push(reference(`fleetgate req/s ${tenantsLabel(large, small)}, minutes apart`, rate(after) / rate(before)));
  }
  if (before && sameSize) {
    const label = `req/s fleetgate/${SMALL_TWIN} at ${small?.toLocaleString('en-US')}`;
    lines.push(`${reference(label, rate(before) / rate(sameSize))}  (${pairedSpread(before, sameSize)}; the same size: one run's noise)`);
  }
  for (const tenants of points) {
    const at = tenants.toLocaleString('en-US');
    const [fleetgate, postgraphile, baseline] = [find(tenants, 'fleetgate'), find(tenants, 'postgraphile'), find(tenants, 'baseline')];
    if (fleetgate && postgraphile) {
      lines.push(reference(`gateway cpu/req fleetgate/postgraphile at ${at}`, gatewayMicros(fleetgate) / gatewayMicros(postgraphile)));
    }
    if (fleetgate && baseline) lines.push(...beforeAndAfter(fleetgate, baseline, ` at ${at}`));
  }
  return lines.join('\n');
}

/** Fleetgate against the gateway of another checkout (BENCH_BASELINE) in the same rounds: a change's cost. */
function beforeAndAfter(fleetgate: Measurement, baseline: Measurement, at: string): string[] {
  return [
    `${reference(`req/s fleetgate/baseline${at}`, rate(fleetgate) / rate(baseline))}  (${pairedSpread(fleetgate, baseline)})`,
    reference(`gateway cpu/req fleetgate/baseline${at}`, gatewayMicros(fleetgate) / gatewayMicros(baseline)),
    reference(`postgres cpu/req fleetgate/baseline${at}`, postgresMicros(fleetgate) / postgresMicros(baseline)),
  ];
}

/** The write's table and goals (bench/mutation.ts): Fleetgate's updateAgent, audit on, against yoga-pg's and PostGraphile's renames. */
export function renderWriteReport(measurements: readonly Measurement[]): string {
  const lines = table(measurements);
  const find = (server: string) => measurements.find((m) => m.server === server);
  const [fleetgate, yogaPg, postgraphile] = [find('fleetgate'), find('yoga-pg'), find('postgraphile')];
  if (fleetgate && (postgraphile || yogaPg))
    lines.push('', 'Goals (issue 24): the write, Fleetgate against its peers, same run, decided on ABBA blocks');
  if (fleetgate && postgraphile) lines.push(...peerGoals(fleetgate, postgraphile, ''));
  if (fleetgate && yogaPg) lines.push(gatewayGoal(fleetgate, yogaPg, ''));
  if (fleetgate && postgraphile)
    lines.push(reference('gateway cpu/req fleetgate/postgraphile', gatewayMicros(fleetgate) / gatewayMicros(postgraphile)));
  // Like for like, no goal: PostGraphile writing the same audit event into the same chain (bench/mutation.ts installPeerAudit).
  const audited = measurements.find((m) => m.server === 'postgraphile-audit');
  if (fleetgate && audited) {
    lines.push('', 'The same work: Fleetgate against PostGraphile with the same audit trigger (no goal)');
    lines.push(
      `${reference('req/s fleetgate/postgraphile-audit', rate(fleetgate) / rate(audited))}  (${pairedSpread(fleetgate, audited)})`,
    );
    lines.push(reference('postgres cpu/req fleetgate/postgraphile-audit', postgresMicros(fleetgate) / postgresMicros(audited)));
    lines.push(reference('gateway cpu/req fleetgate/postgraphile-audit', gatewayMicros(fleetgate) / gatewayMicros(audited)));
  }
  const baseline = find('baseline');
  if (fleetgate && baseline) lines.push('', 'Before and after (BENCH_BASELINE)', ...beforeAndAfter(fleetgate, baseline, ''));
  return lines.join('\n');
}

/** The medians table, one line per server and point. */
function table(measurements: readonly Measurement[]): string[] {
  return [
    '',
    'Median of the rounds (req/s, CPU per request); p50/p99 over all rounds',
    `${'tenants'.padStart(8)}  ${'server'.padEnd(19)}${'req/s'.padStart(8)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}` +
      `${'gateway µs/req'.padStart(16)}${'postgres µs/req'.padStart(17)}  requests`,
    ...measurements.map(
      (m) =>
        `${m.tenants.toLocaleString('en-US').padStart(8)}  ${m.server.padEnd(19)}${fmt(rate(m), 0).padStart(8)}` +
        `${fmt(percentile(m.latenciesMs, 50), 1).padStart(9)}${fmt(percentile(m.latenciesMs, 99), 1).padStart(9)}` +
        `${fmt(gatewayMicros(m), 0).padStart(16)}${fmt(postgresMicros(m), 0).padStart(17)}  ${m.requests}`,
    ),
  ];
}

/**
 * The range of the per-round ratios. Each round measures the servers back to back, so a round's
 * own ratio is the least disturbed by drift; a wide range means the machine was not quiet.
 */
function pairedSpread(a: Measurement, b: Measurement): string {
  const ratios = a.rounds.map((r, i) => r.rate / (b.rounds[i]?.rate ?? Number.NaN));
  return `rounds ${fmt(Math.min(...ratios), 2)}-${fmt(Math.max(...ratios), 2)}`;
}

function tenantsLabel(large: number | undefined, small: number | undefined): string {
  return `${large?.toLocaleString('en-US')}/${small?.toLocaleString('en-US')} tenants`;
}

/** Fleetgate's req/s and Postgres CPU per request against PostGraphile's. */
function peerGoals(fleetgate: Measurement, postgraphile: Measurement, at: string): string[] {
  return [
    blockGoal(`req/s fleetgate/postgraphile${at}`, fleetgate, postgraphile, (r) => r.rate, GOALS.throughputVsPostgraphile, 'at least'),
    blockGoal(
      `postgres cpu/req fleetgate/postgraphile${at}`,
      fleetgate,
      postgraphile,
      (r) => r.postgresMicros,
      GOALS.postgresCpuVsPostgraphile,
      'at most',
    ),
  ];
}

/** Fleetgate's gateway CPU per request against yoga-pg's. */
function gatewayGoal(fleetgate: Measurement, yogaPg: Measurement, at: string): string {
  return blockGoal(
    `gateway cpu/req fleetgate/yoga-pg${at}`,
    fleetgate,
    yogaPg,
    (r) => r.gatewayMicros,
    GOALS.gatewayCpuVsYogaPg,
    'at most',
  );
}

/**
 * A goal on the ratio of `a` to `b`, decided as bench/same-run.ts decides a feature's cost: per ABBA
 * block (two rounds, the servers in both orders), then PASS or MISS only when the median's interval
 * lies wholly on one side of the goal, else NOT RESOLVED (more rounds narrow it). A median of three
 * rounds against another printed PASS in one run and MISS in the next for the same code (the write,
 * 2026-12-05): a verdict from it said more about the machine than about the code.
 */
function blockGoal(
  label: string,
  a: Measurement,
  b: Measurement,
  pick: (round: Measurement['rounds'][number]) => number,
  target: number,
  want: 'at least' | 'at most',
): string {
  const blocks = blockCosts(a.rounds.map(pick), b.rounds.map(pick)).map((cost) => 1 + cost);
  const ratio = medianInterval(blocks);
  const interval = blocks.length >= 6 ? "the median's 95 % interval" : 'the blocks from';
  return (
    `${reference(label, ratio.median)}  (goal ${want === 'at least' ? '>=' : '<='} ${target})  ${verdictOf(ratio, target, want)}` +
    `  (${interval} ${fmt(ratio.low, 2)} to ${fmt(ratio.high, 2)}, ${blocks.length} block(s))`
  );
}

function reference(label: string, value: number): string {
  return `  ${label.padEnd(50)}${fmt(value, 2).padStart(6)}`;
}

function fmt(value: number, digits: number): string {
  return value.toFixed(digits);
}
