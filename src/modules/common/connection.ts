import { type DefaultConnectionArguments, resolveCursorConnection } from '@pothos/plugin-relay';
import type { PageArgs } from '../../db/pagination.ts';

/** A Relay connection over rows with time-ordered uuid ids, the id doubling as the cursor. */
export function keysetConnection<T extends { id: string }>(args: DefaultConnectionArguments, load: (page: PageArgs) => Promise<T[]>) {
  return resolveCursorConnection({ args, toCursor: (item: T) => item.id }, load);
}
