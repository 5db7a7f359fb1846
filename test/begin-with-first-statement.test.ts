import type { EntityManager, MikroORM, PostgreSqlConnection } from '@mikro-orm/postgresql';
import type { Transaction } from 'kysely';
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import { sendWithCommit } from '../src/db/commit-prelude.ts';
import { appUrlFor } from '../src/db/database-urls.ts';
import { openOrm } from '../src/db/orm.ts';
import { ormModel } from '../src/entities.ts';
import { createTestDatabase } from './support/database.ts';

// src/db/begin-with-first-statement.ts against a real Postgres. One pooled connection, so every
// transaction below runs on the same session and anything one of them left behind surfaces in the
// next. Messages are counted as the writes to the connection's socket (each simple query is one).

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let orm: MikroORM;
let pool: pg.Pool;
let messages: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  orm = await openOrm(appUrlFor(database.adminUrl), ormModel, { poolSize: 1 });
  pool = (await (orm.em.getConnection() as PostgreSqlConnection).getNativeClient()) as pg.Pool;
  const counted = new WeakSet<pg.PoolClient>();
  pool.on('acquire', (client) => {
    if (counted.has(client)) return;
    counted.add(client);
    const stream = (client as unknown as { connection: { stream: { write: (chunk: Buffer, ...rest: unknown[]) => boolean } } }).connection
      .stream;
    const write = stream.write.bind(stream);
    stream.write = (chunk, ...rest) => {
      // A simple query message: 'Q', length, text, NUL.
      if (chunk[0] === 0x51) messages.push(chunk.subarray(5, chunk.length - 1).toString('utf8'));
      return write(chunk, ...rest);
    };
  });
  await orm.em.fork().execute('create temp table begin_probe (name text not null)');
});
afterAll(async () => {
  await orm?.close();
  await database?.drop();
});
beforeEach(async () => {
  await orm.em.fork().execute('truncate begin_probe');
  messages = [];
});

const txid = async (em: EntityManager) => (await em.execute<{ id: string }[]>('select txid_current()::text as id'))[0]?.id;
const names = async () =>
  (await orm.em.fork().execute<{ name: string }[]>('select name from begin_probe order by name')).map((row) => row.name);

test("a transaction's BEGIN goes out with its first statement, in the same transaction as the rest", async () => {
  const [first, second] = await orm.em.fork().transactional(async (em) => [await txid(em), await txid(em)]);
  expect(first).toBe(second);
  expect(messages).toEqual(['begin;\nselect txid_current()::text as id', 'select txid_current()::text as id', 'commit']);
  // Outside a transaction each statement is one of its own again.
  const [a, b] = [await txid(orm.em.fork()), await txid(orm.em.fork())];
  expect(a).not.toBe(b);
});

test('a transaction that sends nothing sends nothing, not even its COMMIT or ROLLBACK, and leaves nothing open', async () => {
  await orm.em.fork().transactional(async () => undefined);
  await expect(
    orm.em.fork().transactional(async () => {
      throw new Error('failed before any statement');
    }),
  ).rejects.toThrow('failed before any statement');
  expect(messages).toEqual([]);
  const [a, b] = [await txid(orm.em.fork()), await txid(orm.em.fork())];
  expect(a).not.toBe(b);
});

test('a syntax error in the first statement (no BEGIN ran): nothing else of the transaction runs outside it', async () => {
  await orm.em.fork().transactional(async (em) => {
    await expect(em.execute('selec 1')).rejects.toThrow(/syntax error/);
    // Postgres would refuse this inside a failed transaction; here no transaction is open on the server.
    await expect(em.execute("insert into begin_probe values ('outside')")).rejects.toThrow(/current transaction is aborted/);
  });
  expect(await names()).toEqual([]);
  // The connection is clean afterwards: the next transaction commits normally.
  await orm.em.fork().transactional((em) => em.execute("insert into begin_probe values ('next')"));
  expect(await names()).toEqual(['next']);
});

test('a runtime error in the first statement (BEGIN ran) fails the transaction as Postgres would', async () => {
  await orm.em.fork().transactional(async (em) => {
    await expect(em.execute('select 1 / 0')).rejects.toThrow(/division by zero/);
    await expect(em.execute("insert into begin_probe values ('after')")).rejects.toThrow(/current transaction is aborted/);
  });
  expect(await names()).toEqual([]);
  const [a, b] = [await txid(orm.em.fork()), await txid(orm.em.fork())];
  expect(a).not.toBe(b);
});

test('a transaction whose only statement waits for the COMMIT is a single message', async () => {
  await orm.em.fork().transactional(async (em) => {
    await sendWithCommit(em.getTransactionContext() as Transaction<unknown>, "insert into begin_probe values ('one message')");
  });
  expect(messages).toEqual(["begin;\ninsert into begin_probe values ('one message');\ncommit"]);
  expect(await names()).toEqual(['one message']);
});

test('a statement with parameters cannot share the message: the BEGIN goes just before it, same transaction', async () => {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const [{ id }] = (await client.query<{ id: string }>('select txid_current()::text as id where $1::int = 1', [1])).rows as [
      { id: string },
    ];
    const [{ id: again }] = (await client.query<{ id: string }>('select txid_current()::text as id')).rows as [{ id: string }];
    await client.query('commit');
    expect(again).toBe(id);
  } finally {
    client.release();
  }
});

test('a client released with its BEGIN still waiting does not hand it to the next user', async () => {
  const client = await pool.connect();
  await client.query('begin');
  client.release();
  // Were the BEGIN carried into the next statement, both would run in the transaction it opened.
  const [a, b] = [await txid(orm.em.fork()), await txid(orm.em.fork())];
  expect(a).not.toBe(b);
});

test('a statement that only sets transaction-local settings travels with the next one, and applies to it', async () => {
  const seen = await orm.em.fork().transactional(async (em) => {
    await em.execute('select set_config(?, ?, true), set_config(?, ?, true)', ['fleetgate.probe', 'held', 'fleetgate.other', 'too']);
    const [row] = await em.execute<{ probe: string; other: string }[]>(
      "select current_setting('fleetgate.probe') as probe, current_setting('fleetgate.other') as other",
    );
    return row;
  });
  expect(seen).toEqual({ probe: 'held', other: 'too' });
  expect(messages).toEqual([
    "begin;\nselect set_config('fleetgate.probe', 'held', true), set_config('fleetgate.other', 'too', true);\n" +
      "select current_setting('fleetgate.probe') as probe, current_setting('fleetgate.other') as other",
    'commit',
  ]);
  // Transaction-local: gone with the transaction, on this same pooled connection.
  const [after] = await orm.em.fork().execute<{ probe: string | null }[]>("select current_setting('fleetgate.probe', true) as probe");
  expect(after?.probe ?? '').toBe('');
});

test('settings followed by nothing send nothing', async () => {
  await orm.em.fork().transactional((em) => em.execute('select set_config(?, ?, true)', ['fleetgate.probe', 'unused']));
  expect(messages).toEqual([]);
});

test('settings with a value that needs quoting, or any other statement, are sent as usual', async () => {
  await orm.em.fork().transactional(async (em) => {
    await em.execute('select set_config(?, ?, true)', ['fleetgate.probe', "it's"]);
    await txid(em);
  });
  expect(messages).toEqual(["begin;\nselect set_config('fleetgate.probe', 'it''s', true)", 'select txid_current()::text as id', 'commit']);
});
