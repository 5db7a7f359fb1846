import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKeyring } from '../src/auth/keyring.ts';
import { TokenIssuer } from '../src/auth/tokens.ts';
import { migrate } from '../src/db/migrate.ts';
import { createLogger } from '../src/shared/logger.ts';
import { busyShare, describeMachine } from './machine.ts';
import { createBenchDatabase } from './seed.ts';

export type Cleanup = () => Promise<unknown>;

/** What a gateway benchmark starts from. */
export interface BenchFixture {
  /** How busy the machine was before the run, for the report's first line. */
  machine: string;
  /** A throw-away database, migrated. */
  db: { name: string; url: string };
  /** A fresh keyring the gateway processes open too, and the issuer of the bench's tokens. */
  keyringDir: string;
  tokens: TokenIssuer;
}

/** Sets the fixture up and pushes what undoes it onto `cleanups` (run them in reverse order). */
export async function benchFixture(adminUrl: string, cleanups: Cleanup[]): Promise<BenchFixture> {
  const machine = describeMachine(await busyShare());
  const db = await migratedDatabase(adminUrl, cleanups);
  const keyringDir = await mkdtemp(join(tmpdir(), 'fleetgate-bench-'));
  cleanups.push(() => rm(keyringDir, { recursive: true, force: true }));
  const tokens = new TokenIssuer(await openKeyring(keyringDir), '1h');
  return { machine, db, keyringDir, tokens };
}

/** A throw-away database on the server of `adminUrl`, migrated; its drop goes onto `cleanups`. */
export async function migratedDatabase(adminUrl: string, cleanups: Cleanup[]): Promise<{ name: string; url: string }> {
  const db = await createBenchDatabase(adminUrl);
  cleanups.push(db.drop);
  await migrate(db.url, createLogger({ level: 'warn' }));
  return db;
}
