import type { EntityManager, EventSubscriber, TransactionEventArgs } from '@mikro-orm/core';
import { sendWithCommit } from '../../db/commit-prelude.ts';
import { type AuditRow, auditInsertOf, insertAuditRows } from './audit.store.ts';

export type { AuditRow } from './audit.store.ts';

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
    if (transaction && !('savepointName' in transaction)) return sendWithCommit(transaction, auditInsertOf(rows));
    await insertAuditRows(em as EntityManager, rows, transaction);
  },
  afterTransactionRollback({ em }: TransactionEventArgs): void {
    staged.delete(em as EntityManager);
  },
};
