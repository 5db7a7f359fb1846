import { PostgreSqlConnection, PostgreSqlDriver } from '@mikro-orm/postgresql';
import { CompiledQuery, type DatabaseConnection, type Dialect, type Transaction } from 'kysely';
import type { PoolConfig } from 'pg';
import { beginWithFirstStatement } from './begin-with-first-statement.ts';
import { isConnectionLost } from './database-faults.ts';

/** Statements waiting to go out with their transaction's COMMIT, by the transaction's connection. */
const preludes = new WeakMap<DatabaseConnection, string[]>();

/**
 * Sends `sql` in the same message as the transaction's COMMIT (`<sql>; commit`, one round trip),
 * instead of as a statement of its own before it. Written for the audit event (issue 7): every lock
 * the transaction holds, the tenant's chain lock among them, is then released by the server right
 * after the statement runs, not one round trip to a busy gateway and back later.
 *
 * The message uses the simple query protocol, so `sql` carries no parameters: every value in it must
 * be a literal escaped by the caller. If it fails, the server skips the COMMIT and the error fails the
 * commit, which MikroORM answers with a ROLLBACK: nothing of the transaction is kept. A rollback
 * drops what was waiting. It relies on MikroORM committing through the Kysely driver's
 * `commitTransaction` (MikroORM 7, Kysely 0.29, both pinned): test/commit-prelude.test.ts and every
 * audit test would fail if an upgrade committed another way.
 */
export async function sendWithCommit(transaction: Transaction<unknown>, sql: string): Promise<void> {
  const connection = await transaction.getExecutor().provideConnection(async (held) => held);
  const waiting = preludes.get(connection);
  if (waiting) waiting.push(sql);
  else preludes.set(connection, [sql]);
}

/** The dialect with a driver that sends each transaction's waiting statements with its COMMIT. */
function withCommitPreludes(dialect: Dialect): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createDriver() {
      const driver = dialect.createDriver();
      const commit = driver.commitTransaction.bind(driver);
      const rollback = driver.rollbackTransaction.bind(driver);
      driver.commitTransaction = async (connection) => {
        const waiting = preludes.get(connection);
        if (!waiting) return commit(connection);
        preludes.delete(connection);
        await connection.executeQuery(CompiledQuery.raw(`${waiting.join(';\n')};\ncommit`));
      };
      driver.rollbackTransaction = async (connection) => {
        preludes.delete(connection);
        try {
          await rollback(connection);
        } catch (error) {
          // Kysely releases a transaction's connection only after its ROLLBACK succeeds: a ROLLBACK
          // failing on a connection the database dropped (a restart) leaked it, until the pool had none
          // left and every request waited it out (test/chaos-postgres.test.ts). The server ended that
          // transaction with the connection, and pg-pool discards a client that is not queryable on
          // release: nothing of the transaction can reach the next request. Any other failure still throws.
          if (!isConnectionLost(error)) throw error;
        }
      };
      return driver;
    },
  };
}

class CommitPreludeConnection extends PostgreSqlConnection {
  override createKyselyDialect(overrides: PoolConfig) {
    const dialect = super.createKyselyDialect({ ...overrides, ...beginWithFirstStatement() } as PoolConfig);
    return withCommitPreludes(dialect) as ReturnType<PostgreSqlConnection['createKyselyDialect']>;
  }
}

/**
 * MikroORM's PostgreSQL driver, its connections able to `sendWithCommit`, its pool's clients sending
 * each transaction's BEGIN with its first statement (src/db/begin-with-first-statement.ts): a
 * transaction of one statement and an audit event is then one message and one COMMIT message.
 */
export class FleetgateDriver extends PostgreSqlDriver {
  constructor(...args: ConstructorParameters<typeof PostgreSqlDriver>) {
    super(...args);
    // The parent made a connection of its own class; it has not connected yet (MikroORM connects later).
    Object.assign(this, { connection: new CommitPreludeConnection(this.config) });
  }
}
