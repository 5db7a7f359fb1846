import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { forkForTenant } from '../db/request-scope.ts';
import { selectRows } from '../db/rows.ts';
import type { KeyProvider, WrappedKeyHolder } from './key-provider.ts';

/** A holder's `countBelow` through an owner-only SQL function `sqlFunction(version) → bigint` counting across tenants. */
export function countBelowWith(orm: MikroORM, sqlFunction: string): WrappedKeyHolder['countBelow'] {
  return async (version) => {
    const [row] = await orm.em.fork().execute<{ n: string }[]>(`select ${sqlFunction}(?) as n`, [version]);
    return Number(row?.n ?? 0);
  };
}

/** What a tenant's wrapped data key protects, as tenantKeyStatus counts them. */
export type DataKeyKind = 'credential' | 'agentMemory' | 'sharing';

/** A table that holds one wrapped data key per row, in its `wrapped_key` column. */
export interface WrappedKeyTable {
  table: string;
  /** What its keys protect (one kind per table). */
  kind: DataKeyKind;
  /** The column naming the row (its primary key). */
  idColumn: 'id' | 'agent_id' | 'tenant_id';
  /** `<functionStem>_count_below_key_version(version)` and `<functionStem>_below_key_version(version, limit)` list the rows. */
  functionStem: string;
  /** The names the listing gives a row's id and its tenant id (default `key_<idColumn>` and `key_tenant_id`). */
  listedAs?: { id: string; tenantId: string };
  /**
   * A column recording the key version beside the wrapped key, read from and kept in step on rewrap.
   * Unset: the version is read from the wrapped form itself (`wrapped_key_version(wrapped_key)`).
   */
  versionColumn?: 'key_version';
}

/**
 * A table of wrapped data keys as a holder for KEK rotation. `<functionStem>_count_below_key_version`
 * and `<functionStem>_below_key_version` are the owner-only SECURITY DEFINER listings across tenants
 * and tiers, the latter returning row ids and tenant ids only; each listed row is then rewrapped in a
 * transaction of its own under its own tenant's setting, with RLS, locked (`for update`) so a
 * concurrent change (a new value, a crypto-shred) is never overwritten, and left alone when it is
 * gone or already rewrapped. The provider rewraps inside itself: no data key is seen in the clear.
 */
export function wrappedKeyTableHolder(orm: MikroORM, provider: KeyProvider, spec: WrappedKeyTable): WrappedKeyHolder {
  const { table, idColumn, functionStem, versionColumn } = spec;
  const listedAs = spec.listedAs ?? { id: `key_${idColumn}`, tenantId: 'key_tenant_id' };
  const version = versionOf(spec);
  return {
    name: table,
    countBelow: countBelowWith(orm, `${functionStem}_count_below_key_version`),
    async rewrapBelow(below, limit) {
      const rows = await orm.em
        .fork()
        .execute<Record<string, string>[]>(`select * from ${functionStem}_below_key_version(?, ?)`, [below, limit]);
      let rewrapped = 0;
      for (const listed of rows) {
        const id = listed[listedAs.id];
        const tenantId = listed[listedAs.tenantId];
        if (!id || !tenantId) continue;
        rewrapped += await forkForTenant(orm, tenantId).transactional(async (tx) => {
          const [row] = await tx.execute<{ wrapped_key: string; key_version: number }[]>(
            `select wrapped_key, ${version} as key_version from ${table} where ${idColumn} = ? for update`,
            [id],
          );
          if (!row || row.key_version >= below) return 0;
          const wrapped = await provider.rewrapDataKey(row.wrapped_key);
          const set = versionColumn ? `wrapped_key = ?, ${versionColumn} = ?` : 'wrapped_key = ?';
          const values = versionColumn ? [wrapped, provider.versionOf(wrapped)] : [wrapped];
          await tx.execute(`update ${table} set ${set} where ${idColumn} = ?`, [...values, id]);
          return 1;
        });
      }
      return rewrapped;
    },
  };
}

/** The SQL that reads a row's KEK version: its recorded column, or the wrapped form itself. */
function versionOf(spec: WrappedKeyTable): string {
  return spec.versionColumn ?? 'wrapped_key_version(wrapped_key)';
}

const tenantKeyCountRow = z.object({
  version: z.number().int(),
  kind: z.enum(['credential', 'agentMemory', 'sharing']),
  keys: z.number().int(),
});

/** How many of one tenant's data keys one KEK version wraps, for one kind of key. */
export type TenantKeyCount = z.output<typeof tenantKeyCountRow>;

/**
 * How many of one tenant's data keys each KEK version wraps, per kind: counts only, never a key or
 * a row. Runs in `em`'s transaction, which must be the tenant's own request transaction: its RLS
 * setting (wall 3) shows only that tenant's rows, and each table is also asked for `tenant_id =
 * tenantId` (the principal's tenant, never input), so either alone keeps every other tenant's keys
 * out of the count (test/key-counts.test.ts removes each). Unqualified names: an enterprise tenant's
 * own schema answers first (its search path). Memory keys of every agent of the tenant are counted
 * together: a number per version, which tells nothing about any agent's memory.
 */
export async function countTenantKeys(em: EntityManager, tenantId: string, tables: readonly WrappedKeyTable[]): Promise<TenantKeyCount[]> {
  if (tables.length === 0) return [];
  const parts = tables.map((spec) => `select '${spec.kind}' as kind, ${versionOf(spec)} as version from ${spec.table} where tenant_id = ?`);
  return selectRows(
    em,
    tenantKeyCountRow,
    `select version, kind, count(*)::int as keys from (${parts.join(' union all ')}) k where version is not null group by 1, 2 order by 1, 2`,
    tables.map(() => tenantId),
  );
}
