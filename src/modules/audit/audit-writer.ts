import type { EntityManager, EventSubscriber, TransactionEventArgs } from '@mikro-orm/core';
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
 * transaction's last statement before COMMIT, so it commits or rolls back with the change it
 * records. Outside a transaction there is no commit to write it at: refused, never dropped silently.
 */
export function stageAuditEvent(em: EntityManager, row: AuditRow): void {
  if (!em.isInTransaction()) throw new Error(`audit event ${row.action} recorded outside a transaction`);
  const rows = staged.get(em);
  if (rows) rows.push(row);
  else staged.set(em, [row]);
}

const COLUMNS = 'id, tenant_id, actor_type, actor_id, action, target_type, target_id, outcome, request_id, detail';
const ROW = '(?::uuid, ?::uuid, ?, ?, ?, ?, ?, ?, ?, ?::jsonb)';

/**
 * Writes each transaction's staged events in one INSERT just before its COMMIT (issue 7). The
 * chain trigger's per-tenant lock is then held for that INSERT and the COMMIT only, not for the
 * rest of the request, so one tenant's writers queue for less time; and the event costs one
 * statement with no entity, change set or identity map behind it. An INSERT that fails (RLS, the
 * chain trigger) fails the COMMIT: MikroORM rolls the transaction back, change included.
 */
export const auditWriter: EventSubscriber = {
  async beforeTransactionCommit({ em, transaction }: TransactionEventArgs): Promise<void> {
    const rows = staged.get(em as EntityManager);
    if (!rows?.length) return;
    staged.delete(em as EntityManager);
    const params = rows.flatMap((row) => [
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
    ]);
    const values = rows.map(() => ROW).join(', ');
    await (em as EntityManager)
      .getConnection()
      .execute(`insert into audit_events (${COLUMNS}) values ${values}`, params, 'run', transaction);
  },
  afterTransactionRollback({ em }: TransactionEventArgs): void {
    staged.delete(em as EntityManager);
  },
};
