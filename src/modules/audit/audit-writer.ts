import type { EntityManager, EventSubscriber, TransactionEventArgs } from '@mikro-orm/core';
import { escapeLiteral } from 'pg';
import { sendWithCommit } from '../../db/commit-prelude.ts';
import type { ChainEvent } from './chain.ts';

/**
 * One audit event as the gateway writes it: the chained event's fields without those the database
 * adds (seq, created_at, prev_hash, hash), and its detail as an object, not yet rendered by jsonb.
 */
export type AuditRow = Omit<ChainEvent, 'seq' | 'createdAt' | 'prevHash' | 'hash' | 'detail'> & { detail: Record<string, unknown> };

/** Events staged in a transaction, by the transaction's EntityManager; written when it commits. */
const staged = new WeakMap<EntityManager, AuditRow[]>();

/**
 * Stages an event in the transaction `em` belongs to. It is written by `auditWriter` as that
 * transaction's last statement, sent with its COMMIT, so it commits or rolls back with the change
 * it records. Outside a transaction there is no commit to write it at: refused, never dropped silently.
 */
export function stageAuditEvent(em: EntityManager, row: AuditRow): void {
  if (!em.isInTransaction()) throw new Error(`audit event ${row.action} recorded outside a transaction`);
  const rows = staged.get(em);
  if (rows) rows.push(row);
  else staged.set(em, [row]);
}

const COLUMNS = 'id, tenant_id, actor_type, actor_id, action, target_type, target_id, outcome, request_id, detail';

/** A value as an SQL literal, escaped by `pg` (the insert goes out without parameters, see below). */
const literal = (value: string | null) => (value === null ? 'null' : escapeLiteral(value));

/** The INSERT of `rows`, every value a literal. */
function insertOf(rows: readonly AuditRow[]): string {
  const values = rows.map((row) => {
    const texts = [row.actorType, row.actorId, row.action, row.targetType, row.targetId, row.outcome, row.requestId].map(literal);
    return `(${literal(row.id)}::uuid, ${literal(row.tenantId)}::uuid, ${texts.join(', ')}, ${literal(JSON.stringify(row.detail))}::jsonb)`;
  });
  return `insert into audit_events (${COLUMNS}) values ${values.join(', ')}`;
}

/**
 * The INSERT of one event as a statement with parameters ($1…), for a lean write, which sends it
 * with its COMMIT (src/db/lean-transaction.ts `withCommit`): a named statement, planned once per connection.
 */
export function auditInsertStatement(row: AuditRow): { sql: string; params: unknown[] } {
  return {
    sql: `insert into audit_events (${COLUMNS}) values ($1::uuid, $2::uuid, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)`,
    params: [
      row.id,
      row.tenantId,
      row.actorType,
      row.actorId,
      row.action,
      row.targetType,
      row.targetId,
      row.outcome,
      row.requestId,
      JSON.stringify(row.detail),
    ],
  };
}

/**
 * Writes each transaction's staged events in one INSERT sent with its COMMIT, in the same message
 * (issue 7, `sendWithCommit`). The chain trigger's per-tenant lock, and every row lock the change
 * took, are then held for that INSERT and the COMMIT only, not for a round trip to the gateway in
 * between, so one tenant's writers queue for less time; and the event costs no round trip and no
 * entity, change set or identity map. An INSERT that fails (RLS, the chain trigger) fails the COMMIT:
 * MikroORM rolls the transaction back, change included. Its values are literals escaped by `pg`
 * (the message carries no parameters); under a savepoint it is a statement of its own.
 */
export const auditWriter: EventSubscriber = {
  async beforeTransactionCommit({ em, transaction }: TransactionEventArgs): Promise<void> {
    const rows = staged.get(em as EntityManager);
    if (!rows?.length) return;
    staged.delete(em as EntityManager);
    if (transaction && !('savepointName' in transaction)) return sendWithCommit(transaction, insertOf(rows));
    await (em as EntityManager).getConnection().execute(insertOf(rows), [], 'run', transaction);
  },
  afterTransactionRollback({ em }: TransactionEventArgs): void {
    staged.delete(em as EntityManager);
  },
};
