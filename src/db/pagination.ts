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
  page: PageArgs,
  options: { filters?: Record<string, boolean> } = {},
): Promise<T[]> {
  const { limit, inverted } = page;
  const orderBy = { id: inverted ? 'desc' : 'asc' };
  // biome-ignore lint/suspicious/noExplicitAny: MikroORM's FilterQuery cannot be typed generically over T here.
  return em.find(entity, pageWhere(where, page) as any, { ...options, orderBy: orderBy as any, limit });
}

/**
 * The page `findPage` loads, as plain rows keyed by property name (values converted as the entity
 * declares them), for read-only lists: no entity instances, identity map or unit of work, about
 * half the CPU of `em.find` for a 20-row page (bench/run.ts).
 *
 * Wall 2 holds on this path as it does in `em.find`: `applyFilters` adds the entity's default
 * filters with this EntityManager's parameters (the tenant filter; MikroORM refuses the query when
 * the parameter is missing), so the tenant condition comes from the ORM, never from the caller.
 * test/lean-page.test.ts shows it alone keeping another tenant's rows out.
 */
export async function findPageRows<T extends { id: string }>(
  em: EntityManager,
  entity: EntityName<T>,
  where: Record<string, unknown>,
  page: PageArgs,
): Promise<{ [K in keyof T]: T[K] }[]> {
  const qb = em
    .createQueryBuilder(entity)
    .select('*')
    // biome-ignore lint/suspicious/noExplicitAny: as in findPage.
    .where(pageWhere(where, page) as any)
    // biome-ignore lint/suspicious/noExplicitAny: as in findPage.
    .orderBy({ id: page.inverted ? 'desc' : 'asc' } as any)
    .limit(page.limit);
  await qb.applyFilters();
  return qb.execute('all', true);
}

function pageWhere(where: Record<string, unknown>, { before, after }: PageArgs): Record<string, unknown> {
  for (const cursor of [before, after]) {
    if (cursor !== undefined && !UUID.test(cursor)) throw badInput('Invalid cursor');
  }
  const id: Record<string, string> = {};
  if (after) id.$gt = after;
  if (before) id.$lt = before;
  return Object.keys(id).length > 0 ? { ...where, id } : where;
}
