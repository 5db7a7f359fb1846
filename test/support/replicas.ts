import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appUrlFor } from '../../src/db/database-urls.ts';
import { createTestDatabase } from './database.ts';
import { freePorts } from './ports.ts';

/** Gateway processes started by `npm start`'s entry point (src/main.ts) on one test database and one keyring. */
export interface Replicas {
  /** Each replica's GraphQL endpoint, in start order. */
  urls: string[];
  /** Their FLEETGATE_HOME: the keyring all of them read (`join(home, 'keyring')`). */
  home: string;
  database: Awaited<ReturnType<typeof createTestDatabase>>;
  /** SIGKILLs the replica at `index` (start order): a crash, nothing closed. */
  kill(index: number): void;
  /** Kills every replica, drops the database and removes the home directory. */
  stop(): Promise<void>;
}

/**
 * `count` replicas of the real gateway (`src/main.ts`, as operators run it) on one fresh database,
 * each on its own port, resolved once every one of them says it is up. `env` adds to (or overrides)
 * the settings below: development mode, no canary, a free metrics port each.
 */
export async function startReplicas(count: number, env: Record<string, string> = {}): Promise<Replicas> {
  const home = await mkdtemp(join(tmpdir(), 'fleetgate-replicas-'));
  const database = await createTestDatabase();
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children) child.kill('SIGKILL');
    await database.drop();
    await rm(home, { recursive: true, force: true });
  };
  try {
    const first = await freePorts(count);
    const urls = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        startReplica(children, {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          FLEETGATE_HOME: home,
          DATABASE_URL: database.adminUrl,
          APP_DATABASE_URL: appUrlFor(database.adminUrl),
          PORT: String(first + i),
          METRICS_PORT: '0', // a free port each: replicas and parallel test runs share this host
          LOG_LEVEL: 'warn',
          CANARY_INTERVAL_SECONDS: '0',
          ...env,
        }),
      ),
    );
    return { urls, home, database, stop, kill: (index) => children[index]?.kill('SIGKILL') };
  } catch (error) {
    await stop();
    throw error;
  }
}

function startReplica(children: ChildProcess[], env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica not up:\n${output}`)), 120_000);
    const onData = (chunk: Buffer) => {
      output += String(chunk);
      if (output.includes('Fleetgate is up')) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${env.PORT}/graphql`);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`replica exited ${code}:\n${output}`));
    });
  });
}
