import type { MikroORM } from '@mikro-orm/postgresql';
import { forkForTenant } from '../../db/request-scope.ts';
import type { KeyProvider, WrappedKeyHolder } from '../credentials/key-provider.ts';
import { countBelowWith } from '../credentials/key-rotation.ts';

/**
 * Agent memory's per-agent data keys as a holder of wrapped keys, so KEK rotation rewraps them and
 * never retires a version one of them still needs. The cross-tenant listing is the owner-only
 * SECURITY DEFINER `memory_keys_below_key_version()` (ids and tenant ids only); each key is then
 * rewrapped in a transaction under its own tenant's setting, with RLS, locked against a concurrent
 * crypto-shred (a deleted agent's key row is gone, and stays gone).
 */
export function memoryKeyHolder(orm: MikroORM, provider: KeyProvider): WrappedKeyHolder {
  return wrappedKeyTableHolder(orm, provider, { table: 'agent_memory_keys', idColumn: 'agent_id', functionStem: 'memory_keys' });
}

/**
 * The live key mirror (`memory_key_escrow`) as a holder of its own (memory_escrow_below_key_version
 * and rewrap_memory_escrow, migrations/functions/keys.sql). A live
 * key's mirror row follows its key table's rewrap by trigger; a mirror row whose key table was lost
 * and not brought back (a SAME restore of a backup older than the agent) follows nothing, yet opens
 * that agent's rows in newer backups. Each row below the version is rewrapped through the
 * owner-only `rewrap_memory_escrow()`, which replaces it only while it still holds the wrapping that
 * was rewrapped: a concurrent rewrap of the key table, or the key's destruction, wins.
 */
export function memoryEscrowHolder(orm: MikroORM, provider: KeyProvider): WrappedKeyHolder {
  return {
    name: 'memory_key_escrow',
    countBelow: countBelowWith(orm, 'memory_escrow_count_below_key_version'),
    async rewrapBelow(version, limit) {
      const rows = await orm.em
        .fork()
        .execute<{ key_agent_id: string; key_wrapped: string }[]>('select * from memory_escrow_below_key_version(?, ?)', [version, limit]);
      let rewrapped = 0;
      for (const row of rows) {
        const fresh = await provider.rewrapDataKey(row.key_wrapped);
        const [done] = await orm.em
          .fork()
          .execute<{ replaced: boolean }[]>('select rewrap_memory_escrow(?, ?, ?) as replaced', [row.key_agent_id, row.key_wrapped, fresh]);
        if (done?.replaced) rewrapped++;
      }
      return rewrapped;
    },
  };
}

/**
 * A table holding one wrapped data key per row (`wrapped_key`, its version read from the wrapped form)
 * as a holder for KEK rotation. `<functionStem>_count_below_key_version(version)` and
 * `<functionStem>_below_key_version(version, limit)` are the owner-only SECURITY DEFINER listings
 * across tenants and tiers, the latter returning `key_<idColumn>` and `key_tenant_id` only; each
 * listed row is rewrapped in a transaction of its own under its tenant's setting, with RLS, locked
 * against a concurrent change and left alone when it is gone or already rewrapped.
 */
export function wrappedKeyTableHolder(
  orm: MikroORM,
  provider: KeyProvider,
  { table, idColumn, functionStem }: { table: string; idColumn: 'agent_id' | 'tenant_id'; functionStem: string },
): WrappedKeyHolder {
  return {
    name: table,
    countBelow: countBelowWith(orm, `${functionStem}_count_below_key_version`),
    async rewrapBelow(version, limit) {
      const rows = await orm.em
        .fork()
        .execute<Record<string, string>[]>(`select * from ${functionStem}_below_key_version(?, ?)`, [version, limit]);
      let rewrapped = 0;
      for (const listed of rows) {
        const id = listed[`key_${idColumn}`];
        const tenantId = listed.key_tenant_id;
        if (!id || !tenantId) continue;
        rewrapped += await forkForTenant(orm, tenantId).transactional(async (tx) => {
          const [row] = await tx.execute<{ wrapped_key: string; key_version: number }[]>(
            `select wrapped_key, wrapped_key_version(wrapped_key) as key_version from ${table} where ${idColumn} = ? for update`,
            [id],
          );
          if (!row || row.key_version >= version) return 0;
          await tx.execute(`update ${table} set wrapped_key = ? where ${idColumn} = ?`, [
            await provider.rewrapDataKey(row.wrapped_key),
            id,
          ]);
          return 1;
        });
      }
      return rewrapped;
    },
  };
}
