/**
 * sendBatch (src/db/statement-batch.ts): several named statements in one message with one Sync, against
 * a real Postgres. Answers in order with the client's parsers; a failing statement skips the rest of
 * its message; a statement whose batch failed is prepared again cleanly, whether or not its Parse ran.
 */
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import { sendBatch } from '../src/db/statement-batch.ts';
import { ADMIN_URL } from './support/database.ts';

let pool: pg.Pool;
let client: pg.PoolClient;

const parsed = (c: pg.PoolClient) =>
  (c as unknown as { connection: { parsedStatements: Record<string, string> } }).connection.parsedStatements;

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: ADMIN_URL, max: 1 });
  client = await pool.connect();
});

afterAll(async () => {
  client.release();
  await pool.end();
});

beforeEach(async () => {
  // One connection for the whole file, as a pooled one is reused: each test starts with nothing prepared.
  await client.query('deallocate all');
  for (const name of Object.keys(parsed(client))) delete parsed(client)[name];
  await client.query('drop table if exists pg_temp.batch_rows');
  await client.query('create temporary table batch_rows (n int primary key, at timestamptz)');
});

const BEGIN = { name: 't_begin', text: 'begin' };
const COMMIT = { name: 't_commit', text: 'commit' };
const INSERT = { name: 't_insert', text: 'insert into batch_rows (n, at) values ($1, $2) returning n, at' };
const COUNT = { name: 't_count', text: 'select count(*)::int as rows from batch_rows' };
const DIVIDE = { name: 't_divide', text: 'select 10 / $1::int as quotient' };

test('answers each statement in order, rows parsed as the client parses them, and prepares each once', async () => {
  const at = new Date('2026-12-05T04:00:00.123Z');
  const answers = await sendBatch(client, [BEGIN, { ...INSERT, values: [1, at] }, { ...INSERT, values: [2, at] }, COUNT, COMMIT]);
  expect(answers.map((answer) => answer.command)).toEqual(['BEGIN', 'INSERT', 'INSERT', 'SELECT', 'COMMIT']);
  expect(answers[1]?.rows).toEqual([{ n: 1, at }]);
  expect(answers[3]?.rows).toEqual([{ rows: 2 }]);
  expect(Object.keys(parsed(client)).sort()).toEqual(['t_begin', 't_commit', 't_count', 't_insert']);

  const again = await sendBatch(client, [{ ...COUNT }]);
  expect(again[0]?.rows).toEqual([{ rows: 2 }]);
  const { rows } = await client.query<{ name: string }>('select name from pg_prepared_statements order by name');
  expect(rows.map((row) => row.name)).toEqual(['t_begin', 't_commit', 't_count', 't_insert']);
});

test('a failing statement rejects with its Postgres error and the statements behind it do not run', async () => {
  const failing = sendBatch(client, [
    BEGIN,
    { ...INSERT, values: [1, null] },
    { ...DIVIDE, values: [0] },
    { ...INSERT, values: [2, null] },
    COMMIT,
  ]);
  await expect(failing).rejects.toMatchObject({ code: '22012' });
  // The COMMIT did not run: the transaction is still open, aborted, until rolled back.
  await client.query('select 1').then(
    () => expect.unreachable('an aborted transaction answers no statement'),
    (error: { code?: string }) => expect(error.code).toBe('25P02'),
  );
  await client.query('rollback');
  expect((await client.query('select count(*)::int as rows from batch_rows')).rows).toEqual([{ rows: 0 }]);
});

test('a statement whose batch failed is prepared again cleanly, whether its Parse ran or was skipped', async () => {
  // DIVIDE was parsed, then failed executing; COUNT behind it was never parsed.
  await expect(sendBatch(client, [{ ...DIVIDE, values: [0] }, COUNT])).rejects.toMatchObject({ code: '22012' });
  expect(parsed(client)).toEqual({});
  const answers = await sendBatch(client, [{ ...DIVIDE, values: [5] }, COUNT]);
  expect(answers.map((answer) => answer.rows[0])).toEqual([{ quotient: 2 }, { rows: 0 }]);

  // A statement that does not parse fails its batch, and the next batch is not disturbed by it.
  const broken = { name: 't_broken', text: 'selec 1' };
  await expect(sendBatch(client, [broken, COUNT])).rejects.toMatchObject({ code: '42601' });
  expect((await sendBatch(client, [COUNT]))[0]?.rows).toEqual([{ rows: 0 }]);
});

test('a value pg cannot send throws before anything is written', async () => {
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  expect(() => sendBatch(client, [BEGIN, { ...INSERT, values: [1, circular] }])).toThrow();
  expect((await sendBatch(client, [COUNT]))[0]?.rows).toEqual([{ rows: 0 }]);
  expect(client.getTransactionStatus?.()).not.toBe('T');
});
