import type { MikroORM } from '@mikro-orm/postgresql';
import { forkForTenant } from '../db/request-scope.ts';
import type { KeyProvider, WrappedKeyHolder } from './key-provider.ts';

/** A holder's `countBelow` through an owner-only SQL function `sqlFunction(version) → bigint` counting across tenants. */
export function countBelowWith(orm: MikroORM, sqlFunction: string): WrappedKeyHolder['countBelow'] {
  return async (version) => {
    const [row] = await orm.em.fork().execute<{ n: string }[]>(`select ${sqlFunction}(?) as n`, [version]);
    return Number(row?.n ?? 0);
  };
}

/** A table that holds one wrapped data key per row, in its `wrapped_key` column. */
export interface WrappedKeyTable {
  table: string;
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
  const version = versionColumn ?? 'wrapped_key_version(wrapped_key)';
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
