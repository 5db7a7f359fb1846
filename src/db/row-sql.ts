import type { EntityMetadata, EntityProperty, Platform } from '@mikro-orm/postgresql';
import { ReferenceKind } from '@mikro-orm/postgresql';

/**
 * The SQL of an entity's rows without the ORM's QueryBuilder, for the lean paths (a page in
 * src/db/pagination.ts, a write in src/db/lean-update.ts): the columns of the properties asked for,
 * the conditions of a filter query (the tenant filter's among them), and the values converted as
 * MikroORM's hydrator would. Placeholders are `?`, as MikroORM's `execute` takes them.
 */

export interface RowShape {
  /** `"tenant_id" as "tenantId", …`: every persisted scalar property under its property name. */
  columns: string;
  /** Properties whose text the platform parses into a Date. */
  dates: EntityProperty[];
  /** Other properties with a custom type that converts the database value. */
  converted: EntityProperty[];
}

const shapes = new WeakMap<EntityMetadata, Map<string, RowShape>>();

/** Worked out once per entity and set of properties, not per page. */
export function shapeOf(meta: EntityMetadata, properties: readonly string[] | undefined): RowShape {
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
export function sqlWhere(meta: EntityMetadata, query: unknown, params: unknown[]): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query as Record<string, unknown>)) {
    if (key === '$and' && Array.isArray(value)) {
      parts.push(...value.map((part) => `(${sqlWhere(meta, part, params)})`));
      continue;
    }
    const column = meta.properties[key as keyof typeof meta.properties]?.fieldNames?.[0];
    if (!column) throw new Error(`sqlWhere: unsupported condition ${key}`);
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      parts.push(`"${column}" = ?`);
      params.push(value);
      continue;
    }
    const comparisons = value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value) : [];
    if (comparisons.length === 0) throw new Error(`sqlWhere: unsupported condition ${key}`);
    for (const [operator, operand] of comparisons) {
      const sqlOperator = OPERATORS[operator];
      if (!sqlOperator || typeof operand !== 'string') throw new Error(`sqlWhere: unsupported condition ${key}.${operator}`);
      parts.push(`"${column}" ${sqlOperator} ?`);
      params.push(operand);
    }
  }
  return parts.length > 0 ? parts.join(' and ') : 'true';
}

/** As the ORM's hydrator does: MikroORM's connection leaves timestamps as text; json and other custom types convert. */
export function convertRows<T>(platform: Platform, shape: RowShape, rows: Record<string, unknown>[]): T[] {
  for (const row of rows) {
    for (const prop of shape.dates) if (typeof row[prop.name] === 'string') row[prop.name] = platform.parseDate(row[prop.name] as string);
    for (const prop of shape.converted)
      if (row[prop.name] != null) row[prop.name] = prop.customType?.convertToJSValue(row[prop.name], platform);
  }
  return rows as T[];
}

/** `?` placeholders as `$1, $2, …`, for a statement `pg` sends itself. */
export function numberedPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
