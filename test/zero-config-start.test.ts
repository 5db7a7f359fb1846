import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { freePorts } from './support/ports.ts';

/**
 * The first command of the README: `npm start` with no configuration at all boots an embedded
 * Postgres, migrates it, prints an operator token once and serves GraphiQL.
 */
let child: ChildProcess | undefined;
let home: string | undefined;
afterAll(async () => {
  child?.kill('SIGKILL');
  if (home) await rm(home, { recursive: true, force: true });
});

function start(env: NodeJS.ProcessEnv) {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout?.on('data', (chunk) => {
    output += String(chunk);
  });
  proc.stderr?.on('data', (chunk) => {
    output += String(chunk);
  });
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not up after 60s:\n${output}`)), 60_000);
    proc.stdout?.on('data', () => {
      if (output.includes('Fleetgate is up')) {
        clearTimeout(timer);
        setTimeout(() => resolve(output), 50);
      }
    });
    proc.on('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
  });
  return { proc, ready, output: () => output };
}

test('npm start with no configuration serves GraphiQL on an embedded Postgres', async () => {
  // Regression: as root, Postgres runs as the postgres user, which could not enter a home (or a
  // checkout) below a 0700 directory such as mkdtemp's; the home here sits two levels below one.
  home = await mkdtemp(join(tmpdir(), 'fleetgate-home-'));
  const fleetgateHome = join(home, 'nested', 'home');
  const port = await freePorts(2);
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    FLEETGATE_HOME: fleetgateHome,
    PORT: String(port),
    METRICS_PORT: '0', // a free port each: replicas and parallel test runs share this host
    EMBEDDED_PG_PORT: String(port + 1),
    LOG_LEVEL: 'warn',
  };
  const first = start(env);
  child = first.proc;
  const output = await first.ready;
  const token = /Operator token.*\n\s+(\S+)/.exec(output)?.[1];
  expect(token).toMatch(/^eyJ/);

  const graphiql = await fetch(`http://127.0.0.1:${port}/graphql`, { headers: { accept: 'text/html' } });
  expect(graphiql.status).toBe(200);
  expect(await graphiql.text()).toContain('GraphiQL');

  const tenants = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ platformTenants(first: 10) { edges { node { name status } } } }' }),
  });
  // The isolation canary ran at start: its two tenants exist and nothing froze them.
  expect(await tenants.json()).toEqual({
    data: {
      platformTenants: { edges: [{ node: { name: '__canary-a', status: 'ACTIVE' } }, { node: { name: '__canary-b', status: 'ACTIVE' } }] },
    },
  });
  const health = await fetch(`http://127.0.0.1:${port}/health`);
  expect(health.status).toBe(200);

  // The keyring lives outside the database directory, readable by its owner only.
  expect((await stat(join(fleetgateHome, 'keyring', 'keyring.json'))).mode & 0o777).toBe(0o600);

  // A clean stop also stops the embedded Postgres; a second start reuses both and prints no new token.
  child.kill('SIGTERM');
  await new Promise((resolve) => child?.once('exit', resolve));
  const second = start(env);
  child = second.proc;
  const again = await second.ready;
  expect(again).not.toContain('Operator token');
  expect(again).toContain('npm run operator-token');
  child.kill('SIGTERM');
  await new Promise((resolve) => child?.once('exit', resolve));
}, 120_000);
