import type { MikroORM } from '@mikro-orm/postgresql';
import { countBelowWith, type KeyProvider, type WrappedKeyHolder, type WrappedKeyTable, wrappedKeyTableHolder } from '../../keys/index.ts';
import { escrowBelow, rewrapEscrow } from './memory.store.ts';

/** Agent memory's data keys: one per agent, the version read from the wrapped form. */
export const MEMORY_KEY_TABLE: WrappedKeyTable = {
  table: 'agent_memory_keys',
  kind: 'agentMemory',
  idColumn: 'agent_id',
  functionStem: 'memory_keys',
};

/**
 * Agent memory's per-agent data keys as a holder of wrapped keys, so KEK rotation rewraps them and
 * never retires a version one of them still needs. The cross-tenant listing is the owner-only
 * SECURITY DEFINER `memory_keys_below_key_version()` (ids and tenant ids only); each key is then
 * rewrapped in a transaction under its own tenant's setting, with RLS, locked against a concurrent
 * crypto-shred (a deleted agent's key row is gone, and stays gone).
 */
export function memoryKeyHolder(orm: MikroORM, provider: KeyProvider): WrappedKeyHolder {
  return wrappedKeyTableHolder(orm, provider, MEMORY_KEY_TABLE);
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
      const rows = await escrowBelow(orm, version, limit);
      let rewrapped = 0;
      for (const row of rows) {
        const fresh = await provider.rewrapDataKey(row.key_wrapped);
        if (await rewrapEscrow(orm, row.key_agent_id, row.key_wrapped, fresh)) rewrapped++;
      }
      return rewrapped;
    },
  };
}
