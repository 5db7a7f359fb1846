import { execFile, spawn } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePorts } from './ports.ts';

const run = promisify(execFile);
const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * A Postgres cluster of the test's own (Debian's initdb and pg_ctl, on a free port, in a temporary
 * directory), for tests that stop or restart the database: the shared server at 5432 serves every
 * other engineer's tests and is never restarted. As root the binaries run as the `postgres` user.
 */
export async function startPrivatePostgres() {
  const dir = await mkdtemp(join(tmpdir(), 'fleetgate-pg-'));
  const data = join(dir, 'data');
  const port = await freePorts(1);
  const asRoot = userInfo().uid === 0;
  if (asRoot) await chown(dir, ...(await postgresIds()));
  const pg = (binary: string, args: string[]) =>
    exited(asRoot ? 'runuser' : join(BIN, binary), asRoot ? ['-u', 'postgres', '--', join(BIN, binary), ...args] : args);
  await pg('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
  // fsync off: the restarts below are of the server, never of the machine, and WAL replay still runs.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60`;
  const ctl = (...args: string[]) => pg('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-o', options, '-w', '-t', '60', ...args]);
  await ctl('start');
  return {
    port,
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    /** `fast` ends sessions cleanly; `immediate` kills the server outright and recovers from WAL at start. */
    async restart(mode: 'fast' | 'immediate') {
      // Stop, then start: `pg_ctl restart` run from node never returned here (the new postmaster kept its pipes).
      await ctl('stop', '-m', mode);
      await ctl('start');
    },
    async stop() {
      await ctl('stop', '-m', 'immediate').catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Runs a command with its output discarded (a postmaster it starts must not hold our pipes open); rejects on failure. */
function exited(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}`));
    });
  });
}

async function postgresIds(): Promise<[number, number]> {
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: group } = await run('id', ['-g', 'postgres']);
  return [Number(stdout.trim()), Number(group.trim())];
}
