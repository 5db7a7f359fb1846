import type { EntityManager, EntityName, FilterQuery } from '@mikro-orm/postgresql';
import type { LeanTransaction } from './lean-transaction.ts';
import { convertRows, numberedPlaceholders, shapeOf, sqlWhere } from './row-sql.ts';

/**
 * One row's update as a single statement of the request's LeanTransaction (issue 24: a write without
 * the unit of work), for changes with no effect beyond the row:
 * `update "<table>" set … where "id" = ? and <the ORM filter's conditions> returning <properties>`.
 *
 * Wall 2 holds as in `em.nativeUpdate`: `em.applyFilters` ANDs the entity's default filters (the
 * tenant filter, with this EntityManager's parameter) to the row's id, and `sqlWhere` renders them
 * or refuses any it does not know; RLS decides as on any statement of the transaction. Properties
 * with an `onUpdate` (updatedAt) are set as the unit of work would. Undefined when no row matched:
 * no such row, or not one this tenant may see. A failing statement (a unique name taken) throws the
 * database's error; the transaction then keeps nothing.
 */
export async function leanUpdateRow<T extends { id: string }>(
  em: EntityManager,
  lean: LeanTransaction,
  entity: EntityName<T>,
  id: string,
  changes: Readonly<Record<string, unknown>>,
  properties: readonly string[],
): Promise<{ [K in keyof T]: T[K] } | undefined> {
  const meta = em.getMetadata(entity);
  const platform = em.getPlatform();
  const values: Record<string, unknown> = { ...changes };
  for (const prop of meta.props) if (prop.onUpdate && !(prop.name in values)) values[prop.name] = prop.onUpdate({} as T, em);
  const params: unknown[] = [];
  const assignments = Object.entries(values).map(([name, value]) => {
    const prop = meta.properties[name as keyof typeof meta.properties];
    const column = prop?.fieldNames?.length === 1 ? prop.fieldNames[0] : undefined;
    if (!prop || !column || prop.primary) throw new Error(`leanUpdateRow: ${meta.className}.${name} cannot be set here`);
    params.push(prop.customType && value !== null ? prop.customType.convertToDatabaseValue(value, platform) : value);
    return `"${column}" = ?`;
  });
  const conditions = await em.applyFilters(entity, { id } as FilterQuery<T>, {}, 'update');
  const shape = shapeOf(meta, properties);
  const sql = `update "${meta.tableName}" set ${assignments.join(', ')} where ${sqlWhere(meta, conditions ?? {}, params)} returning ${shape.columns}`;
  const rows = await lean.rows<Record<string, unknown>>(numberedPlaceholders(sql), params);
  return convertRows<{ [K in keyof T]: T[K] }>(platform, shape, rows)[0];
}
