import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Transaction-scoped advisory lock guarding KEK retirement: every transaction that wraps or unwraps
 * a credential's data key holds it shared; retiring a KEK version holds it exclusively while it
 * checks that no data key below the new version remains. So no value sealed under an old version
 * commits after the check, and no start that read an old wrapped key is left unable to unwrap it.
 */
export const KEY_VERSION_LOCK = 7_364_205;

export async function holdKeyVersions(em: EntityManager): Promise<void> {
  await em.execute('select pg_advisory_xact_lock_shared(?)', [KEY_VERSION_LOCK]);
}

export async function holdKeyVersionsExclusively(em: EntityManager): Promise<void> {
  await em.execute('select pg_advisory_xact_lock(?)', [KEY_VERSION_LOCK]);
}
