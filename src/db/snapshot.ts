/**
 * A Postgres MVCC snapshot (`pg_current_snapshot()`), to answer one question after the fact: had the
 * transaction `xid` (`pg_current_xact_id()`) committed when the snapshot was taken, so that what it
 * wrote was seen by the reads made under the snapshot? It is `pg_visible_in_snapshot`, answered here
 * without a round trip (test/snapshot.test.ts compares the two).
 */
export interface Snapshot {
  /** Every transaction below it had ended. */
  xmin: bigint;
  /** No transaction from it up had ended. */
  xmax: bigint;
  /** Between the two: those still running. */
  running: ReadonlySet<bigint>;
}

/** `pg_snapshot`'s text form, `xmin:xmax:xip,xip,…`; undefined when it is not one. */
export function parseSnapshot(text: string): Snapshot | undefined {
  const match = /^(\d+):(\d+):([\d,]*)$/.exec(text);
  if (!match) return undefined;
  const [, xmin = '', xmax = '', running = ''] = match;
  return { xmin: BigInt(xmin), xmax: BigInt(xmax), running: new Set(running ? running.split(',').map(BigInt) : []) };
}

/** Whether the committed transaction `xid` (xid8's text) is seen by the snapshot: `pg_visible_in_snapshot`. */
export function seenBy(snapshot: Snapshot, xid: string): boolean {
  if (!/^\d+$/.test(xid)) return false;
  const id = BigInt(xid);
  if (id < snapshot.xmin) return true;
  return id < snapshot.xmax && !snapshot.running.has(id);
}
