import {
  type EntityManager,
  type EntityMetadata,
  type EntityName,
  type EntityProperty,
  type FilterQuery,
  ReferenceKind,
} from '@mikro-orm/postgresql';
import { badInput } from '../shared/errors.ts';
import { isUuid } from '../shared/ids.ts';
import type { LeanRead } from './lean-read.ts';

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
 * sent through the request's LeanRead: one round trip with its transaction's settings, the user's
 * liveness check and commit, as a named prepared statement (src/db/lean-read.ts).
 * test/one-round-trip-read.test.ts shows the filter alone keeping another tenant's rows out here too.
 */
export async function leanPageRows<T extends { id: string }>(
  em: EntityManager,
  read: LeanRead,
  entity: EntityName<T>,
  where: Record<string, unknown>,
  page: PageArgs,
  properties?: readonly string[],
): Promise<{ [K in keyof T]: T[K] }[]> {
  const statement = await pageStatement(em, entity, where, page, properties);
  let n = 0;
  const sql = statement.sql.replace(/\?/g, () => `$${++n}`);
  return statement.convert(await read.rows<Record<string, unknown>>(sql, statement.params));
}

interface PageStatement<T> {
  /** `?` placeholders, as MikroORM's `execute` takes them. */
  sql: string;
  params: unknown[];
  convert: (rows: Record<string, unknown>[]) => { [K in keyof T]: T[K] }[];
}

async function pageStatement<T extends { id: string }>(
  em: EntityManager,
  entity: EntityName<T>,
  where: Record<string, unknown>,
  page: PageArgs,
  properties: readonly string[] | undefined,
): Promise<PageStatement<T>> {
  const meta = em.getMetadata(entity);
  const conditions = await em.applyFilters(entity, pageWhere(where, page) as FilterQuery<T>, {}, 'read');
  const params: unknown[] = [];
  const { columns, dates, converted } = shapeOf(meta, properties);
  const sql = `select ${columns} from "${meta.tableName}" where ${sqlWhere(meta, conditions ?? {}, params)} order by "id" ${page.inverted ? 'desc' : 'asc'} limit ?`;
  params.push(page.limit);
  const platform = em.getPlatform();
  return {
    sql,
    params,
    convert(rows) {
      for (const row of rows) {
        // As the ORM's hydrator does: MikroORM's connection leaves timestamps as text.
        for (const prop of dates) if (typeof row[prop.name] === 'string') row[prop.name] = platform.parseDate(row[prop.name] as string);
        for (const prop of converted)
          if (row[prop.name] != null) row[prop.name] = prop.customType?.convertToJSValue(row[prop.name], platform);
      }
      return rows as { [K in keyof T]: T[K] }[];
    },
  };
}

interface RowShape {
  /** `"tenant_id" as "tenantId", …`: every persisted scalar property under its property name. */
  columns: string;
  /** Properties whose text the platform parses into a Date. */
  dates: EntityProperty[];
  /** Other properties with a custom type that converts the database value. */
  converted: EntityProperty[];
}

const shapes = new WeakMap<EntityMetadata, Map<string, RowShape>>();

/** Worked out once per entity and set of properties, not per page. */
function shapeOf(meta: EntityMetadata, properties: readonly string[] | undefined): RowShape {
  let byProperties = shapes.get(meta);
  if (!byProperties) {
    byProperties = new Map();
    shapes.set(meta, byProperties);
  }
  const key = properties ? properties.join(',') : '*';
  let shape = byProperties.get(key);
  if (!shape) {
    const wanted = properties ? new Set(['id', ...properties]) : undefined;
    const persisted = meta.props.filter(
      (prop) =>
        prop.kind === ReferenceKind.SCALAR && prop.persist !== false && prop.fieldNames.length === 1 && (!wanted || wanted.has(prop.name)),
    );
    shape = {
      columns: persisted.map((prop) => `"${prop.fieldNames[0]}" as "${prop.name}"`).join(', '),
      dates: persisted.filter((prop) => prop.runtimeType === 'Date'),
      converted: persisted.filter((prop) => prop.customType && prop.runtimeType !== 'Date'),
    };
    byProperties.set(key, shape);
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
    if (cursor !== undefined && !isUuid(cursor)) throw badInput('Invalid cursor');
  }
  const id: Record<string, string> = {};
  if (after) id.$gt = after;
  if (before) id.$lt = before;
  return Object.keys(id).length > 0 ? { ...where, id } : where;
}
