import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { adminQuery, createTestDatabase } from './support/database.ts';
import { freePorts } from './support/ports.ts';
import { finalErrorCode, subscribe } from './support/sse.ts';

/**
 * The gateway as production runs it: `npm start` (main.ts) against an external Postgres, in a
 * process of its own, stopped with SIGTERM the way Docker and Kubernetes stop it.
 */
describe('npm start in production: readiness, metrics listener, graceful shutdown', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let home: string;
  let npm: ChildProcess;
  let output = '';
  let port: number;
  let metricsPort: number;
  let token: string;
  let gatewayPid: number;
  const exited = () => new Promise<number | null>((resolve) => (npm.exitCode !== null ? resolve(npm.exitCode) : npm.once('exit', resolve)));

  beforeAll(async () => {
    database = await createTestDatabase();
    home = await mkdtemp(join(tmpdir(), 'fleetgate-shutdown-'));
    port = await freePorts(2);
    metricsPort = port + 1;
    npm = spawn('npm', ['start', '--silent'], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATABASE_URL: database.adminUrl,
        FLEETGATE_HOME: home,
        FLEETGATE_INSTANCE: database.name,
        PORT: String(port),
        METRICS_PORT: String(metricsPort),
        CANARY_INTERVAL_SECONDS: '0',
        RECONCILE_INTERVAL_SECONDS: '0',
        LOG_LEVEL: 'info',
        SHUTDOWN_DELAY_MS: '1500',
        SHUTDOWN_DRAIN_MS: '15000',
        // Long enough for the request below to wait on its lock until the test lets it go.
        DB_LOCK_TIMEOUT_MS: '20000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    npm.stdout?.on('data', (chunk) => {
      output += String(chunk);
    });
    npm.stderr?.on('data', (chunk) => {
      output += String(chunk);
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not up after 60s:\n${output}`)), 60_000);
      npm.stdout?.on('data', () => {
        if (/Operator token.*\n\s+\S+\n/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      });
      npm.once('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
    });
    token = /Operator token.*\n\s+(\S+)/.exec(output)?.[1] ?? '';
    // pino writes its lines asynchronously: the listening line may follow the banner that resolved the wait.
    gatewayPid = await waitFor(async () => Number(/"pid":(\d+).*"msg":"fleetgate listening"/.exec(output)?.[1]) || undefined);
  }, 90_000);

  afterAll(async () => {
    if (npm.exitCode === null) npm.kill('SIGKILL');
    if (gatewayPid && alive(gatewayPid)) process.kill(gatewayPid, 'SIGKILL');
    await database?.drop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  test('/livez and /readyz answer 200, /readyz naming each check', async () => {
    expect((await fetch(`http://127.0.0.1:${port}/livez`)).status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ok',
      ready: true,
      checks: {
        shutdown: 'ok',
        lockdown: 'ok',
        freezeFeed: 'ok',
        database: 'ok',
        keyProviderLogin: 'unconfigured',
        keyProvider: 'ok',
        docker: 'ok',
        liveFanOut: 'unconfigured',
      },
    });
  });

  test('the metrics listener serves latency histograms and state without a token and without tenant ids', async () => {
    await graphql('{ platformTenants(first: 5) { edges { node { id } } } }');
    // Refused before execution: no operation ran, the HTTP histogram still counts it.
    const refused = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer not-a-token' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(refused.status).toBe(401);
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toMatch(
      /fleetgate_operation_duration_seconds_bucket\{le="0\.1",operation_type="query",operation_name="anonymous",outcome="ok"\}/,
    );
    expect(text).toMatch(/fleetgate_http_request_duration_seconds_count\{endpoint="graphql",status="200"\} \d+/);
    expect(text).toMatch(/fleetgate_http_request_duration_seconds_count\{endpoint="graphql",status="401"\} 1/);
    expect(text).toContain('fleetgate_lockdown 0');
    expect(text).toContain('fleetgate_freeze_feed_up 1');
    expect(text).toContain('fleetgate_draining 0');
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).not.toMatch(/tenant=/);
    // The public listener still wants an operator token for it.
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/graphql`)).status).toBe(404);
  });

  test('SIGTERM to npm start: /readyz turns 503 first, a request in flight still answers 200, then the gateway exits', async () => {
    // A subscription open (an SSE stream never ends by itself): it must not hold the drain to its deadline.
    const signUp = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'mutation { signUp(input: { tenantName: "s", owner: { email: "s@s.io", name: "S" } }) { token } }' }),
    });
    const owner = ((await signUp.json()) as { data: { signUp: { token: string } } }).data.signUp.token;
    const stream = await subscribe(fetch, `http://127.0.0.1:${port}/graphql`, 'subscription { tenantStatus { status } }', {}, owner);
    await stream.nth(1);
    // A request held in flight: it waits on a lock the test holds on the tenants table.
    const holder = new pg.Client({ connectionString: database.adminUrl });
    await holder.connect();
    await holder.query('BEGIN; LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE');
    const inFlight = graphql('{ platformTenants(first: 5) { edges { node { name } } } }');
    await waitFor(async () => {
      // On a connection of its own: inside the holder's transaction pg_stat_activity is a snapshot
      // taken at its first read, which would never see the request start waiting.
      const { rows } = await adminQuery<{ waiting: number }>(
        database.adminUrl,
        // By role and wait, not by query text: a statement sent with parameters waits on the lock
        // while Postgres parses it, before pg_stat_activity shows its text.
        "SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND usename = 'fleetgate_app' AND wait_event_type = 'Lock'",
      );
      return (rows[0]?.waiting ?? 0) > 0;
    });

    npm.kill('SIGTERM');
    // Still accepting during SHUTDOWN_DELAY_MS, but unready: load balancers stop sending first.
    const unready = await waitFor(async () => {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      return response.status === 503 ? response.json() : undefined;
    });
    expect(unready).toMatchObject({ status: 'draining', ready: false, checks: { shutdown: 'draining' } });
    expect(alive(gatewayPid)).toBe(true);

    await holder.query('ROLLBACK');
    await holder.end();
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ data: { platformTenants: { edges: expect.any(Array) } } });
    expect(answer.body).not.toHaveProperty('errors');

    await exited();
    await waitFor(async () => !alive(gatewayPid));
    await stream.until((event) => event.event === 'complete');
    expect(finalErrorCode(stream)).toBe('SERVICE_UNAVAILABLE');
    expect(output).not.toMatch(/drain deadline passed/);
    expect(output).toMatch(/"signal":"SIGTERM".*"msg":"stopped"/);
    await expect(fetch(`http://127.0.0.1:${port}/livez`)).rejects.toThrow();
  }, 60_000);

  async function graphql(query: string): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query }),
    });
    return { status: response.status, body: await response.json() };
  }
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor<T>(probe: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
