import type { EntityManager, EntityName, FilterQuery } from '@mikro-orm/postgresql';
import { badInput } from '../shared/errors.ts';
import { isUuid } from '../shared/ids.ts';
import type { LeanTransaction } from './lean-transaction.ts';
import { convertRows, numberedPlaceholders, shapeOf, sqlWhere } from './row-sql.ts';

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
 * The page `findPage` loads, as plain rows keyed by property name, for read-only lists: no entity
 * instances, identity map or unit of work, and no QueryBuilder, whose building and result mapping
 * cost more CPU than the rest of the request's database work (bench/run.ts). Values are converted
 * by the properties' own types (timestamps to Date, json, arrays), as `em.find` would.
 * `properties`: the ones the caller will read (from the GraphQL selection); `id` is always read. A
 * row then carries only those: the caller must not read others. Omitted: every persisted scalar.
 *
 * Wall 2 holds on this path as it does in `em.find`: `em.applyFilters` ANDs the entity's default
 * filters, with this EntityManager's parameters (the tenant filter; MikroORM refuses the query
 * when the parameter is missing), to `where`, so the tenant condition comes from the ORM, never
 * from the caller. `sqlWhere` renders those conditions and refuses any it does not know.
 * test/lean-page.test.ts shows the filter alone keeping another tenant's rows out.
 */
export async function findPageRows<T extends { id: string }>(
  em: EntityManager,
  entity: EntityName<T>,
  where: Record<string, unknown>,
  page: PageArgs,
  properties?: readonly string[],
): Promise<{ [K in keyof T]: T[K] }[]> {
  const statement = await pageStatement(em, entity, where, page, properties);
  return statement.convert(await em.execute<Record<string, unknown>[]>(statement.sql, statement.params));
}

/**
 * The same page, the same SQL (the ORM filter's conditions rendered into it by `pageStatement`),
 * sent through the request's LeanTransaction: one round trip with its transaction's settings, the user's
 * liveness check and commit, as a named prepared statement (src/db/lean-transaction.ts).
 * test/lean-transaction.test.ts shows the filter alone keeping another tenant's rows out here too.
 */
export async function leanPageRows<T extends { id: string }>(
  em: EntityManager,
  read: LeanTransaction,
  entity: EntityName<T>,
  where: Record<string, unknown>,
  page: PageArgs,
  properties?: readonly string[],
): Promise<{ [K in keyof T]: T[K] }[]> {
  const statement = await pageStatement(em, entity, where, page, properties);
  return statement.convert(await read.rows<Record<string, unknown>>(numberedPlaceholders(statement.sql), statement.params));
}

export interface PageStatement<T> {
  /** `?` placeholders, as MikroORM's `execute` takes them. */
  sql: string;
  params: unknown[];
  convert: (rows: Record<string, unknown>[]) => { [K in keyof T]: T[K] }[];
}

/**
 * A page's statement as both paths send it: the selected columns, the ORM filter's conditions, the
 * keyset order and limit. Exported for test/lean-page.test.ts, which reads its plan.
 */
export async function pageStatement<T extends { id: string }>(
  em: EntityManager,
  entity: EntityName<T>,
  where: Record<string, unknown>,
  page: PageArgs,
  properties: readonly string[] | undefined,
): Promise<PageStatement<T>> {
  const meta = em.getMetadata(entity);
  const conditions = await em.applyFilters(entity, pageWhere(where, page) as FilterQuery<T>, {}, 'read');
  const params: unknown[] = [];
  const shape = shapeOf(meta, properties);
  const sql = `select ${shape.columns} from "${meta.tableName}" where ${sqlWhere(meta, conditions ?? {}, params)} order by "id" ${page.inverted ? 'desc' : 'asc'} limit ?`;
  params.push(page.limit);
  const platform = em.getPlatform();
  return { sql, params, convert: (rows) => convertRows(platform, shape, rows) };
}

function pageWhere(where: Record<string, unknown>, { before, after }: PageArgs): Record<string, unknown> {
  for (const cursor of [before, after]) {
    if (cursor !== undefined && !isUuid(cursor)) throw badInput('Invalid cursor');
  }
  const id: Record<string, string> = {};
  if (after) id.$gt = after;
  if (before) id.$lt = before;
  return Object.keys(id).length > 0 ? { ...where, id } : where;
}
