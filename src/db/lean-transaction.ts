import { hash } from 'node:crypto';
import type { DocumentNode, FieldNode, OperationDefinitionNode } from 'graphql';
import type pg from 'pg';
import type { Principal } from '../auth/principal.ts';
import type { TokenLiveness } from '../auth/token-liveness.ts';
import { tenantSearchPath } from './request-scope.ts';
import { type BatchStatement, sendBatch } from './statement-batch.ts';

type UserPrincipal = Extract<Principal, { kind: 'user' }>;

/** Postgres's answer (enter_user_read, migrations/functions/sessions.sql) when the user's token is no longer live. */
const NOT_LIVE = 'FGL01';

/** Named statements: each one's Parse goes out once per connection (statement-batch.ts); Postgres plans the page once, then reuses a generic plan. */
const BEGIN = { name: 'fg_begin', text: 'begin' };
const ENTER_USER_READ = { name: 'fg_enter_user_read', text: 'select enter_user_read($1, $2, $3, $4, $5)' };
const COMMIT = { name: 'fg_commit', text: 'commit' };
const ROLLBACK = { name: 'fg_rollback', text: 'rollback' };
/** The same settings without the liveness check: for a token this replica's TokenLiveness vouches for (and benchmarks without the check). */
const ENTER_USER_SCOPE = {
  name: 'fg_enter_user_scope',
  text: "select set_config('app.tenant_id', $1, true), set_config('search_path', $2, true)",
};

/** A user's token stopped being live between its signature and this request: answered 401. */
export class UserTokenNotLive extends Error {}

/**
 * One user's operation on the lean path (issue 24), on one pooled connection, as named prepared
 * statements sent together in one message with one Sync (src/db/statement-batch.ts): `begin`,
 * `enter_user_read(…)` (the RLS settings and the token's liveness check,
 * migrations/functions/sessions.sql; the settings alone when this replica's TokenLiveness vouches
 * for the token, and a check that passes is remembered there), then the operation's statements.
 * The settings are transaction-local, set by the transaction's first
 * statement exactly as on the ORM path, so RLS decides as it does there; a token that is not live
 * aborts the transaction before any statement runs. The SQL (its columns, the ORM tenant filter's
 * conditions) is built by the caller: src/db/pagination.ts `leanPageRows`, src/db/lean-update.ts.
 *
 * A read sends its `commit` in the same message: one round trip in all. A write keeps its
 * transaction open until the operation's execution is over, like the ORM's request transaction:
 * `end(true)` sends what waits for the commit (`withCommit`: its audit event) with the COMMIT, one
 * more round trip; `end(false)` rolls back. So a result carrying any error keeps nothing, whichever
 * wall refused (the Agent type's scope refuses a foreign row only after the statement returned it).
 * A statement that fails skips the rest of its message, the COMMIT included: the transaction is
 * rolled back before the connection goes back to the pool.
 */
export class LeanTransaction {
  /** Whether the request's entry (settings and liveness) has been sent yet. */
  entered = false;
  /** Whether Postgres refused the token (then the request is answered 401, whatever else happened). */
  refused = false;
  /** A write's open transaction: its connection, held until `end`. */
  #open?: { client: pg.PoolClient };
  readonly #withCommit: BatchStatement[] = [];

  constructor(
    private readonly pool: pg.Pool,
    private readonly principal: UserPrincipal,
    private readonly liveness: TokenLiveness,
    private readonly options: {
      /** A mutation: the transaction stays open until `end`. */
      write?: boolean;
      /** Benchmarks only: see TestingSwitches.withoutSessionCheck. */
      withoutLivenessCheck?: boolean;
    } = {},
  ) {}

  /** Runs `sql` ($1, $2, … placeholders) in the request's transaction; its rows, as `pg` parsed them. */
  async rows<R>(sql: string, params: unknown[]): Promise<R[]> {
    const answers = await this.#send([{ name: statementName(sql), text: sql, values: params }]);
    return (answers[0]?.rows ?? []) as R[];
  }

  /** The liveness check alone, for an operation that sent no statement (say, a page of nothing). */
  async enter(): Promise<void> {
    await this.#send([]);
  }

  /** A write's statement that goes out with its COMMIT (`end(true)`), or not at all. */
  withCommit(sql: string, params: unknown[]): void {
    if (!this.options.write) throw new Error('LeanTransaction: a read has nothing to commit');
    this.#withCommit.push({ name: statementName(sql), text: sql, values: params });
  }

  /** Ends a write's transaction: commits it with what waits for the commit, or rolls it back. Nothing for a read. */
  async end(commit: boolean): Promise<void> {
    const open = this.#open;
    if (!open) return;
    this.#open = undefined;
    // A failed statement skips the COMMIT behind it: `finish` rolls the transaction back before the connection goes back.
    const statements = commit ? [...this.#withCommit, COMMIT] : [ROLLBACK];
    await finish(open.client, () => sendBatch(open.client, statements));
  }

  /**
   * A read: `begin`, the entry, `statements` and `commit` in one message, its own transaction.
   * A write: the first call opens the transaction with `begin` and the entry; the connection stays held.
   */
  async #send(statements: BatchStatement[]): Promise<pg.QueryResult[]> {
    const write = this.options.write === true;
    if (this.#open) return sendBatch(this.#open.client, statements);
    const { tenantId, userId, tokenVersion, sessionId } = this.principal;
    const vouched = this.options.withoutLivenessCheck === true || this.liveness.vouchesFor(this.principal);
    const generation = this.liveness.generation;
    const entry = vouched
      ? { ...ENTER_USER_SCOPE, values: [tenantId, tenantSearchPath(tenantId)] }
      : { ...ENTER_USER_READ, values: [tenantId, userId, tenantSearchPath(tenantId), tokenVersion ?? 1, sessionId ?? null] };
    const client = await this.pool.connect();
    this.entered = true;
    // A write's connection is held until `end`, which rolls back whatever failed here; a read's goes back at once.
    if (write) this.#open = { client };
    const batch = write
      ? sendBatch(client, [BEGIN, entry, ...statements])
      : finish(client, () => sendBatch(client, [BEGIN, entry, ...statements, COMMIT]));
    const answers = await batch.catch((error: unknown) => {
      throw this.#refusal(error);
    });
    if (!vouched) this.liveness.remember(this.principal, generation);
    return answers.slice(2, 2 + statements.length);
  }

  /** Postgres's refusal of the token (the entry's FGL01) as UserTokenNotLive; any other error as it is. */
  #refusal(error: unknown): unknown {
    if ((error as { code?: string }).code !== NOT_LIVE) return error;
    this.refused = true;
    return new UserTokenNotLive();
  }
}

/**
 * Runs `batch` on `client`, then gives the connection back to the pool: as it is after a batch that
 * ended its transaction, after a rollback when a statement failed (the statements behind it, a
 * COMMIT among them, did not run), destroyed when the connection itself failed.
 */
async function finish(client: pg.PoolClient, batch: () => Promise<pg.QueryResult[]>): Promise<pg.QueryResult[]> {
  let broken: Error | undefined;
  try {
    return await batch();
  } catch (error) {
    const failure = error as Error & { code?: string };
    if (failure.code === undefined) broken = failure;
    else await sendBatch(client, [ROLLBACK]).catch((rollback: Error) => (broken = rollback));
    throw error;
  } finally {
    client.release(broken);
  }
}

/** Statement names already made, by SQL text; emptied when full (the texts come from client selections). */
const statementNames = new Map<string, string>();
const MAX_STATEMENT_NAMES = 1_000;

/**
 * One name per distinct SQL text (the shape of the page: columns and conditions), never a value.
 * Remembered: a hash per statement was about 1 % of a write's gateway CPU (issue 24).
 */
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (name === undefined) {
    if (statementNames.size >= MAX_STATEMENT_NAMES) statementNames.clear();
    name = `fg_${hash('sha256', sql, 'hex').slice(0, 24)}`;
    statementNames.set(sql, name);
  }
  return name;
}

/** What a registered root field's check sees: its field node, and the request's raw variables. */
export type ServesAlone = (field: FieldNode, variables: Readonly<Record<string, unknown>>) => boolean;

/**
 * Root fields whose resolvers run through a LeanTransaction, by operation type, each with a check
 * that a selection of it (with these variables) needs nothing else: no field that reaches the ORM,
 * the engine or another table, and for a write no change with effects beyond its row and its audit
 * event. Registered by the modules that own them (src/modules/agents/agent.schema.ts).
 */
const leanRootFields = { query: new Map<string, ServesAlone>(), mutation: new Map<string, ServesAlone>() };

export function registerLeanRootField(operation: 'query' | 'mutation', name: string, servesAlone: ServesAlone): void {
  leanRootFields[operation].set(name, servesAlone);
}

/**
 * Whether the lean path serves a user's operation in full, and as what: a query whose every root
 * selection is a registered lean field it can serve, or a mutation of exactly one such field (one
 * statement and its audit event in one transaction). No fragments at the root, no directives.
 * Undefined for everything else, which runs in the ORM's request transaction as before.
 */
export function leanOperationOf(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>> = {},
): 'query' | 'mutation' | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
  const operation = operationName
    ? operations.find((o) => o.name?.value === operationName)
    : operations.length === 1
      ? operations[0]
      : undefined;
  if (!operation || operation.directives?.length || operation.operation === 'subscription') return undefined;
  const selections = operation.selectionSet.selections;
  if (operation.operation === 'mutation' && selections.length !== 1) return undefined;
  const registered = leanRootFields[operation.operation];
  const served = selections.every((selection) => {
    if (selection.kind !== 'Field' || selection.directives?.length) return false;
    return registered.get(selection.name.value)?.(selection, variables) === true;
  });
  return served ? operation.operation : undefined;
}
