import pg from 'pg';

type QueryResult = pg.QueryResult;

/** What a plain BEGIN, COMMIT or ROLLBACK that needed no message answers. */
const answered = (command: string): QueryResult => ({ command, rowCount: null, oid: 0, fields: [], rows: [] });

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

  // biome-ignore lint/suspicious/noExplicitAny: pg's query() has a dozen overloads; this one passes every call through unchanged.
  override query(config: any, values?: any, callback?: any): any {
    const text = typeof config === 'string' && typeof values !== 'function' && callback === undefined ? config : undefined;
    const plain = text !== undefined && (values === undefined || (Array.isArray(values) && values.length === 0));
    if (this.#state === 'idle') {
      if (plain && text === 'begin') {
        this.#state = 'begin waiting';
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
    // A `begin` is waiting.
    this.#state = 'idle';
    if (plain && (text === 'commit' || text === 'rollback')) return Promise.resolve(answered(text.toUpperCase()));
    if (!plain) {
      // Parameters (extended protocol) or a cursor cannot share a message: the `begin` goes first, on
      // the client's own queue, so in order; if it failed, the connection is broken and so is this query.
      super.query('begin').catch(() => undefined);
      return super.query(config, values, callback);
    }
    return (super.query(`begin;\n${text}`) as Promise<QueryResult | QueryResult[]>).then(
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
