import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import type { ChangeFeed } from '../../db/change-feed.ts';
import { parseRows } from '../../db/rows.ts';

/**
 * The live module's raw SQL: the snapshot a subscription's read was made under, and the session
 * advisory lock that makes one replica per region its relay (LiveRelay). The lock is taken on the
 * region's change-feed connection, the one that LISTENs for the relay, so the lock and the LISTEN
 * live and die together: a relay whose connection is gone has lost the lock with it, and the next
 * replica to try takes over.
 */

const snapshotRow = z.object({ snapshot: z.string() });

/** The transaction's snapshot (`pg_current_snapshot()`'s text): in REPEATABLE READ, the one all its reads were made under. */
export async function currentSnapshot(em: EntityManager): Promise<string> {
  const rows = await em.execute('select pg_current_snapshot()::text as snapshot');
  const [row] = parseRows(snapshotRow, rows, 'snapshot');
  if (!row) throw new Error('pg_current_snapshot() answered no row');
  return row.snapshot;
}

/** pg_try_advisory_lock's one-bigint key space (migrate()'s lock is 7364201). */
const RELAY_LOCK = 7_364_203;

const lockRow = z.object({ locked: z.boolean() });

/** Takes the region's relay lock for the feed's session if no other session holds it; true when held now. */
export async function tryRelayLock(feed: ChangeFeed): Promise<boolean> {
  const rows = await feed.query('select pg_try_advisory_lock($1) as locked', [RELAY_LOCK]);
  return parseRows(lockRow, rows, 'relay lock')[0]?.locked === true;
}

/** Gives the relay lock back (a relay stepping down while its session lives on). */
export async function releaseRelayLock(feed: ChangeFeed): Promise<void> {
  await feed.query('select pg_advisory_unlock($1) as released', [RELAY_LOCK]);
}
