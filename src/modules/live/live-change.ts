/** notify_live_change() (migrations/functions/live.sql): an agent's or a task's status changed, or the row came or went. */
export const LIVE_CHANNEL = 'fleetgate_live';

/** One notification of `fleetgate_live`, as the trigger wrote it from the row itself. */
export interface LiveChange {
  kind: 'agent' | 'task';
  /** The row's own tenant (never the notifier's claim): each delivery compares it with the subscriber's. */
  tenantId: string;
  id: string;
  /** The agent's id (a task's agent, or the agent itself). */
  agentId: string;
  /** The new status; DELETED when the row is gone. */
  status: string;
  at: string;
  /** The writing transaction (xid8's text): a stream skips what its subscribe-time read already saw. */
  xid?: string;
}

/** A notification's text as a LiveChange; undefined when it is not one (whoever wrote it). */
export function parseLiveChange(payload: string): LiveChange | undefined {
  try {
    const change = JSON.parse(payload) as Partial<LiveChange>;
    const { kind, tenantId, id, agentId, status, at, xid } = change;
    if ((kind !== 'agent' && kind !== 'task') || !isText(tenantId) || !isText(id) || !isText(agentId) || !isText(status) || !isText(at)) {
      return undefined;
    }
    return { kind, tenantId, id, agentId, status, at, ...(isText(xid) ? { xid } : {}) };
  } catch {
    return undefined;
  }
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}
