import pg from 'pg';

type QueryResult = pg.QueryResult;

/** What a plain BEGIN, COMMIT or ROLLBACK that needed no message answers, and a settings statement held back. */
const answered = (command: string): QueryResult => ({ command, rowCount: null, oid: 0, fields: [], rows: [] });

/**
 * A statement that only sets transaction-local settings, its values inlined as MikroORM sends them
 * (`select set_config('app.tenant_id', '…', true), set_config('search_path', '…', true)`): the
 * request's entry when its token is vouched for, and a tenant entered later. It changes nothing
 * but the settings and its answer is not read, so it may wait and travel with the next statement.
 * A value holding a quote does not match and is sent as any other statement.
 */
const SETTINGS_ONLY = /^select set_config\('[^']*', '[^']*', true\)(, set_config\('[^']*', '[^']*', true\))*$/;

/**
 * The ORM pool's client: a transaction's plain `begin` is not sent on its own but in the same message
 * as the transaction's first statement (`begin; <statement>`, the simple query protocol), saving a
 * round trip on every transaction, hence on every GraphQL request (useRequestTransaction). A
 * transaction that sends nothing costs nothing: its COMMIT or ROLLBACK is answered here.
 *
 * What Postgres sees is unchanged: the same BEGIN, then the same statements, in order, in one
 * transaction. Kysely, through which MikroORM runs every transaction, begins with exactly `begin`
 * (`start transaction …` when an isolation level is asked for: sent at once, as are statements that
 * carry parameters and cursors, after a `begin` of their own; MikroORM inlines its parameters, so its
 * statements all merge). A message of several statements answers with an array of results; the
 * caller asked for one statement's and gets the last one's.
 *
 * A statement that only sets transaction-local settings (SETTINGS_ONLY) right after the `begin` waits
 * too and goes out in the same message as the next one (`begin; <settings>; <statement>`): with a
 * vouched token, a user's request through the ORM enters its tenant without a round trip of its own.
 * It runs before that statement, in the same transaction, as it would have on its own; a
 * transaction that sends nothing after it never sends it.
 *
 * One difference needs care: Postgres parses a whole message before running any of it, so a syntax
 * error in the first statement means the BEGIN did not run either and no transaction is open. The
 * client then refuses every statement of that transaction until its COMMIT or ROLLBACK (sent as a
 * ROLLBACK), as Postgres does after any error in a transaction: nothing runs outside it. A client
 * released to the pool with a `begin` still waiting forgets it (see `forgetTransaction`).
 *
 * It relies on a transaction's statements being sent one after another, each once the one before
 * it has answered, as Kysely's single-connection provider does for every transaction: a statement
 * sent while the first one's message is still out would not yet know that message failed.
 */
export class BeginWithFirstStatementClient extends pg.Client {
  #state: 'idle' | 'begin waiting' | 'opening failed' = 'idle';
  /** While a `begin` waits: it and the settings statements held back with it, in order. */
  #waiting: string[] = [];

  // biome-ignore lint/suspicious/noExplicitAny: pg's query() has a dozen overloads; this one passes every call through unchanged.
  override query(config: any, values?: any, callback?: any): any {
    const text = typeof config === 'string' && typeof values !== 'function' && callback === undefined ? config : undefined;
    const plain = text !== undefined && (values === undefined || (Array.isArray(values) && values.length === 0));
    if (this.#state === 'idle') {
      if (plain && text === 'begin') {
        this.#state = 'begin waiting';
        this.#waiting = ['begin'];
        return Promise.resolve(answered('BEGIN'));
      }
      return super.query(config, values, callback);
    }
    if (this.#state === 'opening failed') {
      if (plain && (text === 'commit' || text === 'rollback')) {
        this.#state = 'idle';
        return super.query('rollback');
      }
      const refused = Object.assign(new Error('current transaction is aborted: its first statement failed'), { code: '25P02' });
      if (text !== undefined) return Promise.reject(refused);
      throw refused; // a cursor or a callback: pg itself throws on a query it cannot take
    }
    // A `begin` is waiting, with any settings held back after it.
    if (plain && SETTINGS_ONLY.test(text)) {
      this.#waiting.push(text);
      return Promise.resolve(answered('SELECT'));
    }
    const waiting = this.#waiting.join(';\n');
    this.#state = 'idle';
    this.#waiting = [];
    if (plain && (text === 'commit' || text === 'rollback')) return Promise.resolve(answered(text.toUpperCase()));
    if (!plain) {
      // Parameters (extended protocol) or a cursor cannot share a message: the `begin` (and settings)
      // go first, on the client's own queue, so in order; if they failed, so does this query's transaction.
      super.query(waiting).catch(() => undefined);
      return super.query(config, values, callback);
    }
    return (super.query(`${waiting};\n${text}`) as Promise<QueryResult | QueryResult[]>).then(
      (result) => (Array.isArray(result) ? (result[result.length - 1] as QueryResult) : result),
      (error: unknown) => {
        this.#state = 'opening failed';
        throw error;
      },
    );
  }

  /** The pool took the client back: a transaction that never sent anything leaves nothing behind. */
  forgetTransaction(): void {
    this.#state = 'idle';
    this.#waiting = [];
  }
}

/** Pool options for the ORM's pool: its clients send BEGIN with the first statement. */
export function beginWithFirstStatement(): { Client: typeof BeginWithFirstStatementClient; onPoolCreated: (pool: pg.Pool) => void } {
  return {
    Client: BeginWithFirstStatementClient,
    onPoolCreated(pool) {
      pool.on('release', (_error, client) => {
        if (client instanceof BeginWithFirstStatementClient) client.forgetTransaction();
      });
    },
  };
}
