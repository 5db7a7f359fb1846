import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Transaction } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sendWithCommit } from '../src/db/commit-prelude.ts';
import { appUrlFor } from '../src/db/database-urls.ts';
import { openOrm } from '../src/db/orm.ts';
import { ormModel } from '../src/entities.ts';
import { createTestDatabase } from './support/database.ts';

// src/db/commit-prelude.ts against a real Postgres: what waits for the COMMIT goes out with it or
// not at all. One pooled connection, so every transaction below runs on the same session: a
// statement left waiting by one transaction would surface in the next.

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let orm: MikroORM;

beforeAll(async () => {
  database = await createTestDatabase();
  orm = await openOrm(appUrlFor(database.adminUrl), ormModel, { poolSize: 1 });
  await orm.em.fork().execute('create temp table prelude_probe (name text not null)');
});
afterAll(async () => {
  await orm?.close();
  await database?.drop();
});

const transactionOf = (em: EntityManager) => em.getTransactionContext() as Transaction<unknown>;
const names = async () =>
  (await orm.em.fork().execute<{ name: string }[]>('select name from prelude_probe order by name')).map((row) => row.name);

test('statements sent with the COMMIT are not run before it, then are, in order, in the same transaction', async () => {
  const seenBefore = await orm.em.fork().transactional(async (em) => {
    await sendWithCommit(transactionOf(em), "insert into prelude_probe values ('a')");
    await sendWithCommit(transactionOf(em), "insert into prelude_probe values ('b')");
    return (await em.execute<{ n: number }[]>('select count(*)::int as n from prelude_probe'))[0]?.n;
  });
  expect(seenBefore).toBe(0);
  expect(await names()).toEqual(['a', 'b']);
});

test('a rollback drops what was waiting: the next transaction on the connection does not send it', async () => {
  const failed = orm.em.fork().transactional(async (em) => {
    await sendWithCommit(transactionOf(em), "insert into prelude_probe values ('c')");
    throw new Error('the change failed');
  });
  await expect(failed).rejects.toThrow('the change failed');
  await orm.em.fork().transactional(async (em) => {
    await em.execute("insert into prelude_probe values ('d')");
  });
  expect(await names()).toEqual(['a', 'b', 'd']);
});

test('a statement that fails with the COMMIT fails the commit: the whole transaction is rolled back', async () => {
  const failed = orm.em.fork().transactional(async (em) => {
    await em.execute("insert into prelude_probe values ('e')");
    await sendWithCommit(transactionOf(em), 'insert into prelude_probe values (null)');
  });
  await expect(failed).rejects.toThrow(/null value/);
  expect(await names()).toEqual(['a', 'b', 'd']);
  // The connection is usable afterwards, its transaction closed.
  await orm.em.fork().transactional((em) => em.execute("insert into prelude_probe values ('f')"));
  expect(await names()).toEqual(['a', 'b', 'd', 'f']);
});
