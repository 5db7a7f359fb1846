import { type LoadResult, percentile } from './load.ts';

/**
 * `fleetgate-bare`: the gateway without its request policies (skip with BENCH_POLICY_COST=0).
 * `baseline`: the gateway of another checkout (BENCH_BASELINE), measured before/after in one run.
 */
export type ServerName = 'floor' | 'fleetgate' | 'fleetgate-bare' | 'baseline';

/** Goals from the issue: Fleetgate's throughput against the floor's, and its latency growth with tenants. */
export const MIN_THROUGHPUT_RATIO = 0.7;
export const MAX_P50_GROWTH = 1.2;
/** Issue 6: the full policy stack costs at most 10% of throughput. */
export const MIN_POLICY_RATIO = 0.9;

/** All rounds of one server at one data-set size, merged. */
export interface Measurement {
  tenants: number;
  server: string;
  requests: number;
  seconds: number;
  latenciesMs: number[];
  /** Throughput of each round, in round order (for the spread of paired rounds). */
  roundThroughputs: number[];
  /** Server CPU per request, mean of the rounds weighted by their requests. */
  cpuMsPerRequest: number;
}

export function merge(tenants: number, server: string, rounds: readonly LoadResult[]): Measurement {
  return {
    tenants,
    server,
    requests: rounds.reduce((sum, r) => sum + r.requests, 0),
    seconds: rounds.reduce((sum, r) => sum + r.seconds, 0),
    latenciesMs: rounds.flatMap((r) => r.latenciesMs),
    roundThroughputs: rounds.map(throughput),
    cpuMsPerRequest:
      rounds.reduce((sum, r) => sum + r.serverCpuMsPerRequest * r.requests, 0) / rounds.reduce((sum, r) => sum + r.requests, 0),
  };
}

export function throughput(m: { requests: number; seconds: number }): number {
  return m.requests / m.seconds;
}

export function describeRound(result: LoadResult): string {
  const p50 = fmt(percentile(result.latenciesMs, 50), 1);
  const p99 = fmt(percentile(result.latenciesMs, 99), 1);
  return `${fmt(throughput(result), 0).padStart(6)} req/s  p50 ${p50} ms  p99 ${p99} ms  server cpu ${fmt(result.serverCpuMsPerRequest, 2)} ms/req`;
}

/** The results table and the goal lines; returns the text to print. */
export function renderReport(measurements: readonly Measurement[], points: readonly number[]): string {
  const lines = [
    '',
    `${'tenants'.padStart(8)}  ${'server'.padEnd(15)}${'req/s'.padStart(8)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}` +
      `${'cpu ms/req'.padStart(12)}  requests`,
  ];
  for (const m of measurements) {
    lines.push(
      `${m.tenants.toLocaleString('en-US').padStart(8)}  ${m.server.padEnd(15)}${fmt(throughput(m), 0).padStart(8)}` +
        `${fmt(percentile(m.latenciesMs, 50), 1).padStart(9)}${fmt(percentile(m.latenciesMs, 99), 1).padStart(9)}` +
        `${fmt(m.cpuMsPerRequest, 2).padStart(12)}  ${m.requests}`,
    );
  }
  const find = (tenants: number, server: ServerName) => measurements.find((x) => x.tenants === tenants && x.server === server);
  const p50 = (m: Measurement) => percentile(m.latenciesMs, 50);

  lines.push('', 'Goals');
  for (const tenants of points) {
    const [fleetgate, floor] = [find(tenants, 'fleetgate'), find(tenants, 'floor')];
    if (!fleetgate || !floor) continue;
    const ratio = throughput(fleetgate) / throughput(floor);
    const label = `throughput fleetgate/floor at ${tenants.toLocaleString('en-US')} tenants`;
    lines.push(`${goal(label, ratio, `>= ${MIN_THROUGHPUT_RATIO}`, ratio >= MIN_THROUGHPUT_RATIO)}  (${pairedSpread(fleetgate, floor)})`);
  }
  const [small, large] = [points[0], points.at(-1)];
  const [before, after] = [small !== undefined && find(small, 'fleetgate'), large !== undefined && find(large, 'fleetgate')];
  if (small !== large && before && after) {
    const growth = p50(after) / p50(before);
    lines.push(goal(`fleetgate p50 ${tenantsLabel(large, small)}`, growth, `<= ${MAX_P50_GROWTH}`, growth <= MAX_P50_GROWTH));
  }
  for (const tenants of points) {
    const [fleetgate, bare] = [find(tenants, 'fleetgate'), find(tenants, 'fleetgate-bare')];
    if (!fleetgate || !bare) continue;
    const ratio = throughput(fleetgate) / throughput(bare);
    const label = `policies on/off throughput at ${tenants.toLocaleString('en-US')}`;
    lines.push(`${goal(label, ratio, `>= ${MIN_POLICY_RATIO}`, ratio >= MIN_POLICY_RATIO)}  (${pairedSpread(fleetgate, bare)})`);
  }

  lines.push('', 'For reference');
  const [floorBefore, floorAfter] = [small !== undefined && find(small, 'floor'), large !== undefined && find(large, 'floor')];
  if (small !== large && floorBefore && floorAfter) {
    lines.push(reference(`floor p50 ${tenantsLabel(large, small)}`, p50(floorAfter) / p50(floorBefore)));
  }
  for (const tenants of points) {
    const [fleetgate, floor] = [find(tenants, 'fleetgate'), find(tenants, 'floor')];
    if (!fleetgate || !floor) continue;
    // The throughput ratio a quiet machine would show when the server process is the bottleneck.
    const label = `server cpu/req floor/fleetgate at ${tenants.toLocaleString('en-US')}`;
    lines.push(`${reference(label, floor.cpuMsPerRequest / fleetgate.cpuMsPerRequest)}  (less moved by other load)`);
    const baseline = find(tenants, 'baseline');
    if (!baseline) continue;
    const before = `throughput baseline/floor at ${tenants.toLocaleString('en-US')} tenants`;
    lines.push(`${reference(before, throughput(baseline) / throughput(floor))}  (${pairedSpread(baseline, floor)})`);
    lines.push(
      reference(`server cpu/req floor/baseline at ${tenants.toLocaleString('en-US')}`, floor.cpuMsPerRequest / baseline.cpuMsPerRequest),
    );
  }
  return lines.join('\n');
}

/**
 * The range of the per-round ratios. Each round measures the servers back to back, so a round's
 * own ratio is the least disturbed by drift; a wide range means the machine was not quiet.
 */
function pairedSpread(a: Measurement, b: Measurement): string {
  const ratios = a.roundThroughputs.map((t, i) => t / (b.roundThroughputs[i] ?? Number.NaN));
  return `rounds ${fmt(Math.min(...ratios), 2)}-${fmt(Math.max(...ratios), 2)}`;
}

function tenantsLabel(large: number | undefined, small: number | undefined): string {
  return `${large?.toLocaleString('en-US')}/${small?.toLocaleString('en-US')} tenants`;
}

function goal(label: string, value: number, target: string, pass: boolean): string {
  return `${reference(label, value)}  (goal ${target})  ${pass ? 'PASS' : 'MISS'}`;
}

function reference(label: string, value: number): string {
  return `  ${label.padEnd(48)}${fmt(value, 2).padStart(6)}`;
}

function fmt(value: number, digits: number): string {
  return value.toFixed(digits);
}
