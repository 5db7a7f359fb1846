/**
 * seenBy (src/db/snapshot.ts) answers as Postgres's own pg_visible_in_snapshot, on made-up snapshots
 * and on a real one taken while a writer was still running.
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parseSnapshot, seenBy } from '../src/db/snapshot.ts';
import { ADMIN_URL } from './support/database.ts';

let pool: pg.Pool;

beforeAll(() => {
  pool = new pg.Pool({ connectionString: ADMIN_URL, max: 3 });
});

afterAll(async () => {
  await pool.end();
});

async function postgresSays(snapshot: string, xid: string): Promise<boolean> {
  const { rows } = await pool.query<{ seen: boolean }>('select pg_visible_in_snapshot($1::xid8, $2::pg_snapshot) as seen', [xid, snapshot]);
  return rows[0]?.seen === true;
}

test('answers as pg_visible_in_snapshot below, between and above the snapshot’s bounds', async () => {
  const snapshots = ['10:20:12,15', '10:10:', '7:9:7,8', '4294967300:4294967310:4294967305'];
  const xids = [
    '1',
    '6',
    '7',
    '8',
    '9',
    '10',
    '11',
    '12',
    '13',
    '15',
    '19',
    '20',
    '21',
    '4294967299',
    '4294967305',
    '4294967306',
    '4294967310',
  ];
  for (const text of snapshots) {
    const snapshot = parseSnapshot(text);
    if (!snapshot) throw new Error(`unparsed ${text}`);
    for (const xid of xids) expect(seenBy(snapshot, xid), `${xid} in ${text}`).toBe(await postgresSays(text, xid));
  }
});

test('a writer running when the snapshot was taken is not seen by it, even once committed; one committed before is', async () => {
  const before = await pool.connect();
  const running = await pool.connect();
  try {
    await before.query('begin');
    const early = (await before.query<{ xid: string }>('select pg_current_xact_id()::text as xid')).rows[0]?.xid ?? '';
    await before.query('commit');
    await running.query('begin');
    const late = (await running.query<{ xid: string }>('select pg_current_xact_id()::text as xid')).rows[0]?.xid ?? '';
    const text = (await pool.query<{ snapshot: string }>('select pg_current_snapshot()::text as snapshot')).rows[0]?.snapshot ?? '';
    await running.query('commit');
    const snapshot = parseSnapshot(text);
    if (!snapshot) throw new Error(`unparsed ${text}`);
    expect(seenBy(snapshot, early)).toBe(true);
    expect(seenBy(snapshot, late)).toBe(false);
    expect([await postgresSays(text, early), await postgresSays(text, late)]).toEqual([true, false]);
  } finally {
    before.release();
    running.release();
  }
});

test('text that is no snapshot or no transaction id is refused, never read as seen', () => {
  expect(parseSnapshot('10:20')).toBeUndefined();
  expect(parseSnapshot('a:b:')).toBeUndefined();
  const snapshot = parseSnapshot('10:20:');
  if (!snapshot) throw new Error('unparsed');
  expect(seenBy(snapshot, '')).toBe(false);
  expect(seenBy(snapshot, '-1')).toBe(false);
});
