import { tenantOf } from '../../auth/principal.ts';
import type { Context } from '../../request/context.ts';
import { recordAudit } from './audit.service.ts';

type GlobalId = { typename: string; id: string };

/**
 * `node(id)` and `nodes(ids)` answer null for an object the caller cannot see, exactly as for a
 * missing one, so no error reaches the refusal trail after a rollback. The ids that came back null
 * are recorded here instead, in the request's own transaction: the same DENIED NOT_FOUND event, with
 * the id asked for, that `agent(id)` leaves (a probe for another tenant's object is a denied attempt).
 * Principals without a tenant have no chain to write to; they never reach these fields.
 */
export function recordNodeMisses(ctx: Context, field: 'node' | 'nodes', ids: readonly GlobalId[], nodes: readonly unknown[]): void {
  if (!tenantOf(ctx.principal)) return;
  const missed = new Map<string, GlobalId>();
  ids.forEach((globalId, index) => {
    if (nodes[index] === null || nodes[index] === undefined) missed.set(`${globalId.typename}:${globalId.id}`, globalId);
  });
  for (const { typename, id } of missed.values()) {
    recordAudit(ctx, {
      action: `Query.${field}`,
      outcome: 'DENIED',
      targetType: typename.slice(0, 100),
      targetId: id.slice(0, 200),
      detail: { code: 'NOT_FOUND' },
    });
  }
}
