import type { MikroORM } from '@mikro-orm/postgresql';
import { type KeyProvider, type WrappedKeyHolder, type WrappedKeyTable, wrappedKeyTableHolder } from '../../keys/index.ts';

/** Agent credentials' data keys: one per credential row, its KEK version kept in `key_version`. */
export const CREDENTIAL_KEY_TABLE: WrappedKeyTable = {
  table: 'agent_credentials',
  kind: 'credential',
  idColumn: 'id',
  functionStem: 'credentials',
  listedAs: { id: 'credential_id', tenantId: 'credential_tenant_id' },
  versionColumn: 'key_version',
};

/**
 * Agent credentials as a holder of wrapped data keys for KEK rotation. The cross-tenant listing is the
 * owner-only SECURITY DEFINER `credentials_below_key_version()` (ids and tenant ids only); each row is
 * then rewrapped in a transaction under its own tenant's setting, with RLS, locked so a concurrent
 * rotation of the value is never overwritten, and its `key_version` column kept in step.
 */
export function credentialKeyHolder(orm: MikroORM, provider: KeyProvider): WrappedKeyHolder {
  return wrappedKeyTableHolder(orm, provider, CREDENTIAL_KEY_TABLE);
}
