import { describe, expect, it } from 'vitest';
import { cpuSince } from '../bench/postgres-cpu.ts';
import { type Measurement, renderWriteReport } from '../bench/report.ts';
import { blockCosts, medianInterval, verdictOf } from '../bench/same-run.ts';

// The benches' verdicts (bench/same-run.ts) rest on these two functions.
describe('the paired statistic of the same-run benches', () => {
  it('takes the 6th and 15th of 20 sorted values as the 95 % interval of the median', () => {
    // With B ~ Binomial(20, ½): P(B <= 5) = 0.0207 <= 0.025 < P(B <= 6) = 0.0577.
    const values = Array.from({ length: 20 }, (_, i) => 20 - i); // 20, 19, …, 1: order must not matter
    expect(medianInterval(values)).toEqual({ median: 10.5, low: 6, high: 15 });
  });

  it('gives the whole range when there are too few values to exclude anything', () => {
    // n = 5: even P(B <= 0) = 1/32 = 0.031 > 0.025.
    expect(medianInterval([3, 1, 2, 5, 4])).toEqual({ median: 3, low: 1, high: 5 });
  });

  it('narrows with the number of rounds', () => {
    // n = 6: P(B <= 0) = 0.0156 <= 0.025 < P(B <= 1) = 0.109, so the interval is [x(1), x(6)].
    expect(medianInterval([1, 2, 3, 4, 5, 6])).toMatchObject({ low: 1, high: 6 });
    // n = 9: P(B <= 1) = 0.0195 <= 0.025 < P(B <= 2) = 0.0898, so [x(2), x(8)].
    expect(medianInterval([1, 2, 3, 4, 5, 6, 7, 8, 9])).toEqual({ median: 5, low: 2, high: 8 });
  });

  it('passes or misses only when the whole interval is on one side of the goal', () => {
    expect(verdictOf({ median: 0.01, low: -0.01, high: 0.03 }, 0.03)).toBe('PASS');
    expect(verdictOf({ median: 0.05, low: 0.031, high: 0.08 }, 0.03)).toBe('MISS');
    expect(verdictOf({ median: 0.01, low: -0.02, high: 0.04 }, 0.03)).toBe('NOT RESOLVED');
  });

  it('for a ratio that must be at least the goal, the same rule from the other side', () => {
    expect(verdictOf({ median: 0.93, low: 0.9, high: 1.04 }, 0.9, 'at least')).toBe('PASS');
    expect(verdictOf({ median: 0.85, low: 0.8, high: 0.89 }, 0.9, 'at least')).toBe('MISS');
    expect(verdictOf({ median: 0.93, low: 0.85, high: 1.04 }, 0.9, 'at least')).toBe('NOT RESOLVED');
  });
});

describe('blockCosts', () => {
  it('gives one ratio per ABBA block, so the order the sides ran in cancels', () => {
    // The true cost is +10 % (110 against 100), and the side a round measures first pays 20 % more:
    // round 1 ran `with` first (132 against 100), round 2 `without` first (110 against 120).
    // The rounds' own ratios are +32 % and -8 %; the block's is the true +10 %.
    expect(blockCosts([132, 110], [100, 120]).map((cost) => Math.round(cost * 1000) / 1000)).toEqual([0.1]);
    expect(blockCosts([110, 110, 105, 105], [100, 100, 100, 100]).map((cost) => Math.round(cost * 100) / 100)).toEqual([0.1, 0.05]);
  });

  it('leaves out an odd last round, which has no partner', () => {
    expect(blockCosts([1, 1, 5], [1, 1, 1])).toEqual([0]);
    expect(blockCosts([2], [1])).toEqual([]);
  });
});

describe('cpuSince', () => {
  const at = (entries: [number, number][], autovacuum: number[] = []) => ({ micros: new Map(entries), autovacuum: new Set(autovacuum) });

  it('counts what each backend alive at the end used since the start, a new one whole, a gone one not at all', () => {
    const start = at([
      [1, 100],
      [2, 50],
      [3, 70],
    ]);
    const end = at([
      [1, 160],
      [2, 50],
      [4, 30],
    ]);
    expect(cpuSince(start, end)).toBe(90);
  });

  it('tells the autovacuum workers’ part apart (they work for every server’s changes)', () => {
    const start = at([
      [1, 100],
      [9, 10],
    ]);
    const end = at(
      [
        [1, 160],
        [9, 250],
      ],
      [9],
    );
    expect(cpuSince(start, end)).toBe(300);
    expect(cpuSince(start, end, 'autovacuum')).toBe(240);
  });
});

describe('the write report', () => {
  const server = (name: string, rates: number[], postgresMicros: number[]): Measurement => ({
    tenants: 10_000,
    server: name,
    requests: 1,
    latenciesMs: [1],
    rounds: rates.map((rate, i) => ({ rate, gatewayMicros: 500, postgresMicros: postgresMicros[i] as number })),
  });
  const goalLine = (report: string, label: string) => report.split('\n').find((line) => line.includes(label)) ?? '';

  it('decides each goal on ABBA blocks: NOT RESOLVED while the blocks fall on both sides of it', () => {
    // Blocks of req/s: (1000+900)/(950+950) = 1.00, (1100+1000)/(1000+1000) = 1.05; Postgres (600+650)/(600+600) = 1.04, (560+600)/(600+600) = 0.97.
    const report = renderWriteReport([
      server('fleetgate', [1000, 900, 1100, 1000], [600, 650, 560, 600]),
      server('yoga-pg', [1200, 1200, 1200, 1200], [400, 400, 400, 400]),
      server('postgraphile', [950, 950, 1000, 1000], [600, 600, 600, 600]),
    ]);
    expect(goalLine(report, 'req/s fleetgate/postgraphile')).toMatch(/PASS {2}\(the blocks from 1\.00 to 1\.05, 2 block\(s\)\)$/);
    expect(goalLine(report, 'postgres cpu/req fleetgate/postgraphile')).toMatch(/NOT RESOLVED {2}\(the blocks from 0\.97 to 1\.04/);
    expect(goalLine(report, 'gateway cpu/req fleetgate/yoga-pg')).toMatch(/1\.00 {2}\(goal <= 1\.25\) {2}PASS/);
  });

  it('misses only when every block is on the wrong side', () => {
    const report = renderWriteReport([
      server('fleetgate', [800, 850, 900, 880], [700, 700, 700, 700]),
      server('postgraphile', [1000, 1000, 1000, 1000], [600, 600, 600, 600]),
    ]);
    expect(goalLine(report, 'req/s fleetgate/postgraphile')).toMatch(/0\.86 {2}\(goal >= 1\) {2}MISS/);
    expect(goalLine(report, 'postgres cpu/req fleetgate/postgraphile')).toMatch(/1\.17 {2}\(goal <= 1\) {2}MISS/);
  });

  it('sets Fleetgate beside another checkout’s gateway when one took part (BENCH_BASELINE)', () => {
    const report = renderWriteReport([
      server('fleetgate', [900, 950, 1000], [660, 660, 660]),
      server('baseline', [1000, 1000, 1000], [600, 600, 600]),
    ]);
    expect(goalLine(report, 'req/s fleetgate/baseline')).toMatch(/0\.95 {2}\(rounds 0\.90-1\.00\)$/);
    expect(goalLine(report, 'postgres cpu/req fleetgate/baseline')).toMatch(/1\.10$/);
    expect(renderWriteReport([server('fleetgate', [900], [660])])).not.toContain('baseline');
  });
});
