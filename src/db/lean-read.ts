import { createHash } from 'node:crypto';
import type { DocumentNode, FieldNode, OperationDefinitionNode } from 'graphql';
import type pg from 'pg';
import type { Principal } from '../auth/principal.ts';
import type { TokenLiveness } from '../auth/token-liveness.ts';
import { tenantSearchPath } from './request-scope.ts';

type UserPrincipal = Extract<Principal, { kind: 'user' }>;

/** Postgres's answer (enter_user_read, migrations/functions/sessions.sql) when the user's token is no longer live. */
const NOT_LIVE = 'FGL01';

/** Named statements: `pg` sends each one's Parse once per connection; Postgres plans the page once, then reuses a generic plan. */
const BEGIN = { name: 'fg_begin', text: 'begin' };
const ENTER_USER_READ = { name: 'fg_enter_user_read', text: 'select enter_user_read($1, $2, $3, $4, $5)' };
const COMMIT = { name: 'fg_commit', text: 'commit' };
/** The same settings without the liveness check: for a token this replica's TokenLiveness vouches for (and benchmarks without the check). */
const ENTER_USER_SCOPE = {
  name: 'fg_enter_user_scope',
  text: "select set_config('app.tenant_id', $1, true), set_config('search_path', $2, true)",
};

/** A user's token stopped being live between its signature and this request: answered 401. */
export class UserTokenNotLive extends Error {}

/**
 * One user's read in one round trip (issue 24): `begin`, `enter_user_read(…)` (the RLS settings and
 * the token's liveness check, migrations/functions/sessions.sql; the settings alone when this replica's TokenLiveness
 * vouches for the token, and a check that passes is remembered there), the page query and `commit`, written together as
 * named prepared statements on one pooled connection in pipeline mode, then the answers read. The
 * settings are transaction-local, set by the transaction's first statement exactly as on the ORM
 * path, so RLS decides as it does there; a token that is not live aborts the transaction before the
 * page query runs. The SQL of the page (its columns, the ORM tenant filter's conditions) is built by
 * the caller (src/db/pagination.ts `leanPageRows`).
 */
export class LeanRead {
  /** Whether the request's entry (settings and liveness) has been sent yet. */
  entered = false;
  /** Whether Postgres refused the token (then the request is answered 401, whatever else happened). */
  refused = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly principal: UserPrincipal,
    private readonly liveness: TokenLiveness,
    /** Benchmarks only: see TestingSwitches.withoutSessionCheck. */
    private readonly withoutLivenessCheck = false,
  ) {}

  /** Runs `sql` ($1, $2, … placeholders) in the request's one-message transaction; its rows, as `pg` parsed them. */
  async rows<R>(sql: string, params: unknown[]): Promise<R[]> {
    const page = { name: statementName(sql), text: sql };
    const answers = await this.#pipeline([{ ...page, values: params }]);
    return (answers[0]?.rows ?? []) as R[];
  }

  /** The liveness check alone, for an operation that sent no statement (say, a page of nothing). */
  async enter(): Promise<void> {
    await this.#pipeline([]);
  }

  async #pipeline(statements: pg.QueryConfig[]): Promise<pg.QueryResult[]> {
    const { tenantId, userId, tokenVersion, sessionId } = this.principal;
    const vouched = this.withoutLivenessCheck || this.liveness.vouchesFor(this.principal);
    const generation = this.liveness.generation;
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // Pipeline mode for this checkout only: every query is written at once, the answers come back in order.
    const pipelined = client as pg.PoolClient & { pipeline: boolean };
    pipelined.pipeline = true;
    try {
      const sent = [
        client.query(BEGIN),
        client.query(
          vouched
            ? { ...ENTER_USER_SCOPE, values: [tenantId, tenantSearchPath(tenantId)] }
            : { ...ENTER_USER_READ, values: [tenantId, userId, tenantSearchPath(tenantId), tokenVersion ?? 1, sessionId ?? null] },
        ),
        ...statements.map((statement) => client.query(statement)),
        // After an error Postgres answers this COMMIT with a ROLLBACK: the connection goes back clean.
        client.query(COMMIT),
      ];
      this.entered = true;
      const answers = await Promise.allSettled(sent);
      const failures = answers.flatMap((answer) => (answer.status === 'rejected' ? [answer.reason as Error & { code?: string }] : []));
      if (failures.some((error) => error.code === NOT_LIVE)) {
        this.refused = true;
        throw new UserTokenNotLive();
      }
      const failure = failures[0];
      if (failure) {
        // A failure without a Postgres error code is the connection's, not the statement's: drop it.
        if (failure.code === undefined) broken = failure;
        throw failure;
      }
      if (!vouched) this.liveness.remember(this.principal, generation);
      return answers.slice(2, -1).map((answer) => (answer as PromiseFulfilledResult<pg.QueryResult>).value);
    } finally {
      pipelined.pipeline = false;
      client.release(broken);
    }
  }
}

/** One name per distinct SQL text (the shape of the page: columns and conditions), never a value. */
function statementName(sql: string): string {
  return `fg_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
}

/**
 * Root fields whose resolvers read through a LeanRead, each with a check that a selection of it
 * needs nothing else (no field that reaches the ORM, the engine or another table). Registered by the
 * modules that own them (src/modules/agents/agent.schema.ts).
 */
const leanRootFields = new Map<string, (field: FieldNode) => boolean>();

export function registerLeanRootField(name: string, servesAlone: (field: FieldNode) => boolean): void {
  leanRootFields.set(name, servesAlone);
}

/**
 * Whether an operation is a user's read the lean path serves in full: a query whose every root
 * selection is a registered lean field whose selection it can serve (no fragments at the root, no
 * directives). Everything else runs in the ORM's request transaction as before.
 */
export function isLeanRead(document: DocumentNode, operationName: string | null | undefined): boolean {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
  const operation = operationName
    ? operations.find((o) => o.name?.value === operationName)
    : operations.length === 1
      ? operations[0]
      : undefined;
  if (operation?.operation !== 'query' || operation.directives?.length) return false;
  return operation.selectionSet.selections.every((selection) => {
    if (selection.kind !== 'Field' || selection.directives?.length) return false;
    return leanRootFields.get(selection.name.value)?.(selection) === true;
  });
}
