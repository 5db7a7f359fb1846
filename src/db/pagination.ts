import type { EntityManager, EntityName } from '@mikro-orm/postgresql';
import { badInput } from '../shared/errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface PageArgs {
  before?: string;
  after?: string;
  limit: number;
  inverted: boolean;
}

/**
 * Keyset pagination on time-ordered uuid ids, in the shape `resolveCursorConnection` asks for.
 * The cursor is the row id; anything else is refused before it reaches SQL.
 */
export async function findPage<T extends { id: string }>(
  em: EntityManager,
  entity: EntityName<T>,
  where: Record<string, unknown>,
  { before, after, limit, inverted }: PageArgs,
  options: { filters?: Record<string, boolean> } = {},
): Promise<T[]> {
  for (const cursor of [before, after]) {
    if (cursor !== undefined && !UUID.test(cursor)) throw badInput('Invalid cursor');
  }
  const id: Record<string, string> = {};
  if (after) id.$gt = after;
  if (before) id.$lt = before;
  const filter = Object.keys(id).length > 0 ? { ...where, id } : where;
  // biome-ignore lint/suspicious/noExplicitAny: MikroORM's FilterQuery cannot be typed generically over T here.
  return em.find(entity, filter as any, { ...options, orderBy: { id: inverted ? 'desc' : 'asc' } as any, limit });
}
