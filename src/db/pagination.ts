import {
  type EntityManager,
  type EntityMetadata,
  type EntityName,
  type EntityProperty,
  type FilterQuery,
  ReferenceKind,
} from '@mikro-orm/postgresql';
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
 * The page `findPage` loads, as plain rows keyed by property name, for read-only lists: no entity
 * instances, identity map or unit of work, and no QueryBuilder, whose building and result mapping
 * cost more CPU than the rest of the request's database work (bench/run.ts). Values are converted
 * by the properties' own types (timestamps to Date, json, arrays), as `em.find` would.
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
): Promise<{ [K in keyof T]: T[K] }[]> {
  const meta = em.getMetadata(entity);
  const conditions = await em.applyFilters(entity, pageWhere(where, page) as FilterQuery<T>, {}, 'read');
  const params: unknown[] = [];
  const { columns, dates, converted } = shapeOf(meta);
  const sql = `select ${columns} from "${meta.tableName}" where ${sqlWhere(meta, conditions ?? {}, params)} order by "id" ${page.inverted ? 'desc' : 'asc'} limit ?`;
  const rows = await em.execute<Record<string, unknown>[]>(sql, [...params, page.limit]);
  const platform = em.getPlatform();
  for (const row of rows) {
    // As the ORM's hydrator does: MikroORM's connection leaves timestamps as text.
    for (const prop of dates) if (typeof row[prop.name] === 'string') row[prop.name] = platform.parseDate(row[prop.name] as string);
    for (const prop of converted) if (row[prop.name] != null) row[prop.name] = prop.customType?.convertToJSValue(row[prop.name], platform);
  }
  return rows as { [K in keyof T]: T[K] }[];
}

interface RowShape {
  /** `"tenant_id" as "tenantId", …`: every persisted scalar property under its property name. */
  columns: string;
  /** Properties whose text the platform parses into a Date. */
  dates: EntityProperty[];
  /** Other properties with a custom type that converts the database value. */
  converted: EntityProperty[];
}

const shapes = new WeakMap<EntityMetadata, RowShape>();

/** Worked out once per entity, not per page. */
function shapeOf(meta: EntityMetadata): RowShape {
  let shape = shapes.get(meta);
  if (!shape) {
    const persisted = meta.props.filter(
      (prop) => prop.kind === ReferenceKind.SCALAR && prop.persist !== false && prop.fieldNames.length === 1,
    );
    shape = {
      columns: persisted.map((prop) => `"${prop.fieldNames[0]}" as "${prop.name}"`).join(', '),
      dates: persisted.filter((prop) => prop.runtimeType === 'Date'),
      converted: persisted.filter((prop) => prop.customType && prop.runtimeType !== 'Date'),
    };
    shapes.set(meta, shape);
  }
  return shape;
}

const OPERATORS: Record<string, string> = { $gt: '>', $lt: '<' };

/**
 * The SQL of a filter query made of property equalities, `$gt`/`$lt` on a property and `$and`:
 * what `pageWhere` and the tenant filter produce. Anything else (another operator, an unknown
 * property, a nested object) throws rather than being rendered wrong.
 */
function sqlWhere(meta: EntityMetadata, query: unknown, params: unknown[]): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query as Record<string, unknown>)) {
    if (key === '$and' && Array.isArray(value)) {
      parts.push(...value.map((part) => `(${sqlWhere(meta, part, params)})`));
      continue;
    }
    const column = meta.properties[key as keyof typeof meta.properties]?.fieldNames?.[0];
    if (!column) throw new Error(`findPageRows: unsupported condition ${key}`);
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      parts.push(`"${column}" = ?`);
      params.push(value);
      continue;
    }
    const comparisons = value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value) : [];
    if (comparisons.length === 0) throw new Error(`findPageRows: unsupported condition ${key}`);
    for (const [operator, operand] of comparisons) {
      const sqlOperator = OPERATORS[operator];
      if (!sqlOperator || typeof operand !== 'string') throw new Error(`findPageRows: unsupported condition ${key}.${operator}`);
      parts.push(`"${column}" ${sqlOperator} ?`);
      params.push(operand);
    }
  }
  return parts.length > 0 ? parts.join(' and ') : 'true';
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
