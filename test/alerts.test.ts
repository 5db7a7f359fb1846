import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '../src/shared/logger.ts';
import { startMetricsListener } from '../src/shared/metrics-listener.ts';
import { adminQuery } from './support/database.ts';
import { type Gateway, startGateway } from './support/gateway.ts';
import { freePorts } from './support/ports.ts';

const ALERT_RULES = resolve('docker/observability/prometheus/alerts.yml');

interface Alert {
  labels: { alertname: string };
  state: 'pending' | 'firing';
}

/**
 * The shipped alert rules against a real Prometheus (Debian's `prometheus`, installed by .ci/run)
 * scraping a real gateway's metrics listener: an exposure found by the isolation canary pages.
 * promtool's unit tests (docker/observability/prometheus/alerts.test.yml) check the rules' logic on
 * made-up series; this checks that the gateway exposes the series the rules read.
 */
describe('alert rules on a real Prometheus scraping a gateway', () => {
  let gw: Gateway;
  let listener: Awaited<ReturnType<typeof startMetricsListener>>;
  let prometheus: ChildProcess;
  let dir: string;
  let api: string;
  let output = '';

  beforeAll(async () => {
    gw = await startGateway({ canary: true });
    listener = await startMetricsListener({
      registry: gw.fleetgate.metrics.registry,
      host: '127.0.0.1',
      port: 0,
      log: createLogger({ level: 'silent' }),
    });
    dir = await mkdtemp(join(tmpdir(), 'fleetgate-prometheus-'));
    const port = await freePorts(1);
    api = `http://127.0.0.1:${port}/api/v1`;
    await writeFile(
      join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        `rule_files: [${JSON.stringify(ALERT_RULES)}]`,
        'scrape_configs:',
        `  - { job_name: fleetgate, static_configs: [{ targets: ["127.0.0.1:${listener.port}"] }] }`,
      ].join('\n'),
    );
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stderr?.on('data', (chunk) => {
      output += String(chunk);
    });
    prometheus.once('exit', (code) => {
      output += `\nprometheus exited ${code}`;
    });
    // Two scrapes of the canary's counter at 0 before anything happens.
    await waitFor(async () => {
      const samples = await query('count_over_time(fleetgate_canary_runs_total{result="exposed"}[1m])');
      return Number(samples[0]?.value[1] ?? 0) >= 2;
    }, 30_000);
  }, 60_000);

  afterAll(async () => {
    prometheus?.kill('SIGKILL');
    await listener?.close();
    await gw?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a canary exposure makes FleetgateIsolationExposed and FleetgateLockdown fire', async () => {
    expect(await firing()).toEqual([]);
    expect(await query('up{job="fleetgate"}')).toMatchObject([{ value: [expect.any(Number), '1'] }]);

    await adminQuery(gw.database.adminUrl, 'create policy oops on agents for select using (true)');
    expect((await gw.fleetgate.canary.runOnce()).exposures).not.toEqual([]);

    const alerts = await waitFor(async () => {
      const names = await firing();
      return names.includes('FleetgateIsolationExposed') && names.includes('FleetgateLockdown') ? names : undefined;
    }, 20_000);
    expect(alerts).toEqual(['FleetgateIsolationExposed', 'FleetgateLockdown']);
  }, 30_000);

  async function firing(): Promise<string[]> {
    const body = (await (await fetch(`${api}/alerts`)).json()) as { data: { alerts: Alert[] } };
    return body.data.alerts
      .filter((alert) => alert.state === 'firing')
      .map((alert) => alert.labels.alertname)
      .sort();
  }

  async function query(expr: string): Promise<{ value: [number, string] }[]> {
    const response = await fetch(`${api}/query?query=${encodeURIComponent(expr)}`).catch(() => undefined);
    if (!response?.ok) return [];
    return ((await response.json()) as { data: { result: { value: [number, string] }[] } }).data.result;
  }

  async function waitFor<T>(probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out; prometheus said:\n${output.slice(-2000)}`);
      await new Promise((done) => setTimeout(done, 250));
    }
  }
});
