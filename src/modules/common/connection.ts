import { type DefaultConnectionArguments, resolveCursorConnection } from '@pothos/plugin-relay';
import type { PageArgs } from '../../db/pagination.ts';

/** A Relay connection over rows with time-ordered uuid ids, the id doubling as the cursor. */
export function keysetConnection<T extends { id: string }>(args: DefaultConnectionArguments, load: (page: PageArgs) => Promise<T[]>) {
  return cursorConnection(args, (item: T) => item.id, load);
}

/**
 * Pothos's cursor connection, with `startCursor` and `endCursor` null on a page of nothing (Relay's
 * spec; Pothos answers `""`, or echoes the request's cursor), so a client never pages on from a cursor
 * that names no row.
 */
export async function cursorConnection<T>(
  args: DefaultConnectionArguments,
  toCursor: (item: T) => string,
  load: (page: PageArgs) => Promise<T[]>,
) {
  const connection = await resolveCursorConnection({ args, toCursor }, load);
  if (connection.edges.length > 0) return connection;
  return { ...connection, pageInfo: { ...connection.pageInfo, startCursor: null, endCursor: null } };
}
