import type { MikroORM } from '@mikro-orm/postgresql';
import { forkForTenant } from '../../db/request-scope.ts';
import type { KeyProvider, WrappedKeyHolder } from '../credentials/key-provider.ts';

/**
 * Agent memory's per-agent data keys as a holder of wrapped keys, so KEK rotation rewraps them and
 * never retires a version one of them still needs. The cross-tenant listing is the owner-only
 * SECURITY DEFINER `memory_keys_below_key_version()` (ids and tenant ids only); each key is then
 * rewrapped in a transaction under its own tenant's setting, with RLS, locked against a concurrent
 * crypto-shred (a deleted agent's key row is gone, and stays gone).
 */
export function memoryKeyHolder(orm: MikroORM, provider: KeyProvider): WrappedKeyHolder {
  return {
    name: 'agent_memory_keys',
    async countBelow(version) {
      const [row] = await orm.em.fork().execute<{ n: string }[]>('select memory_keys_count_below_key_version(?) as n', [version]);
      return Number(row?.n ?? 0);
    },
    async rewrapBelow(version, limit) {
      const rows = await orm.em
        .fork()
        .execute<{ key_agent_id: string; key_tenant_id: string }[]>('select * from memory_keys_below_key_version(?, ?)', [version, limit]);
      let rewrapped = 0;
      for (const { key_agent_id: agentId, key_tenant_id: tenantId } of rows) {
        rewrapped += await forkForTenant(orm, tenantId).transactional(async (tx) => {
          const [row] = await tx.execute<{ wrapped_key: string; key_version: number }[]>(
            'select wrapped_key, wrapped_key_version(wrapped_key) as key_version from agent_memory_keys where agent_id = ? for update',
            [agentId],
          );
          if (!row || row.key_version >= version) return 0;
          await tx.execute('update agent_memory_keys set wrapped_key = ? where agent_id = ?', [
            await provider.rewrapDataKey(row.wrapped_key),
            agentId,
          ]);
          return 1;
        });
      }
      return rewrapped;
    },
  };
}
