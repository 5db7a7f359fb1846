import type { MikroORM } from '@mikro-orm/postgresql';
import { type KeyProvider, type WrappedKeyHolder, type WrappedKeyTable, wrappedKeyTableHolder } from '../../keys/index.ts';
import { clientError } from '../../shared/errors.ts';
import { type MemoryScope, withProvider } from './memory.service.ts';
import { insertSharingKey, sharingKey } from './memory.store.ts';
import { openValue, sealValue } from './memory-crypto.ts';

/** Names shared data in the key provider's SERVICE_UNAVAILABLE answer. */
const SHARED = 'Shared data';

/** What a tenant shares between its agents, each sealed under the tenant's sharing key (migrations/0017). */
export type SharedKind = 'handoff' | 'file';

/** Binds a ciphertext to its tenant, kind and row: moved to another row, kind or tenant, it fails to open. */
function aadOf(tenantId: string, kind: SharedKind, id: string): string {
  return `fleetgate-sharing-v1\u0000${tenantId}\u0000${kind}\u0000${id}`;
}

/**
 * Runs `use` with a sealer and an opener under the tenant's sharing key (made on the tenant's first
 * use), unwrapped once for the call and zeroed after it; never cached, like memory keys. Runs in the
 * request's transaction, under its tenant's RLS setting, with the tenant named in SQL as well.
 */
export async function withSharingKey<T>(
  scope: MemoryScope,
  tenantId: string,
  use: (key: {
    seal: (kind: SharedKind, id: string, plaintext: string) => Buffer;
    open: (kind: SharedKind, id: string, sealed: Buffer) => string;
  }) => T,
): Promise<T> {
  const wrapped = (await storedKey(scope, tenantId)) ?? (await createKey(scope, tenantId));
  const dataKey = await withProvider(() => scope.keys.provider.unwrapDataKey(wrapped), SHARED);
  try {
    return use({
      seal: (kind, id, plaintext) => sealValue(dataKey, aadOf(tenantId, kind, id), plaintext),
      open: (kind, id, sealed) => {
        try {
          return openValue(dataKey, aadOf(tenantId, kind, id), sealed);
        } catch {
          throw clientError('SERVICE_UNAVAILABLE', 'This shared data cannot be decrypted with its tenant’s sharing key');
        }
      },
    });
  } finally {
    dataKey.fill(0);
  }
}

async function storedKey(scope: MemoryScope, tenantId: string): Promise<string | undefined> {
  return sharingKey(scope.em, tenantId);
}

/** A concurrent first use of the same tenant loses the insert race and uses the winner's key. */
async function createKey(scope: MemoryScope, tenantId: string): Promise<string> {
  const fresh = await withProvider(() => scope.keys.provider.generateDataKey(), SHARED);
  fresh.plaintext.fill(0);
  await insertSharingKey(scope.em, tenantId, scope.keys.provider.kind, fresh.wrapped);
  const stored = await storedKey(scope, tenantId);
  if (!stored) throw new Error('tenant sharing key not stored');
  return stored;
}

/** A tenant's sharing key (handoffs and shared files): one per tenant, the version read from the wrapped form. */
export const SHARING_KEY_TABLE: WrappedKeyTable = {
  table: 'tenant_sharing_keys',
  kind: 'sharing',
  idColumn: 'tenant_id',
  functionStem: 'sharing_keys',
};

/**
 * The tenants' sharing keys as a holder of wrapped keys for KEK rotation, listed across tenants by the
 * owner-only `sharing_keys_below_key_version()` (tenant ids only; see wrappedKeyTableHolder).
 */
export function sharingKeyHolder(orm: MikroORM, provider: KeyProvider): WrappedKeyHolder {
  return wrappedKeyTableHolder(orm, provider, SHARING_KEY_TABLE);
}
