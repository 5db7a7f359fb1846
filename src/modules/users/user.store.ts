import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { selectRows } from '../../db/rows.ts';

/**
 * The users module's raw SQL: the owner check and what a member's removal does to the rows that name
 * it. Every statement runs in the request's transaction, under the tenant's RLS setting, and names
 * `tenant_id` itself.
 */

const idRow = z.object({ id: z.string() });

/** The tenant's other ACTIVE owners, locked until the transaction ends (two owners demoting each other cannot both pass). */
export async function lockOtherActiveOwners(em: EntityManager, tenantId: string, userId: string): Promise<string[]> {
  const rows = await selectRows(
    em,
    idRow,
    "select id from users where tenant_id = ? and role = 'OWNER' and status = 'ACTIVE' and id <> ? for update",
    [tenantId, userId],
  );
  return rows.map((row) => row.id);
}

/** Revokes the API keys the member created and that are not yet revoked; their ids. */
export async function revokeApiKeysOf(em: EntityManager, tenantId: string, userId: string): Promise<string[]> {
  const rows = await selectRows(
    em,
    idRow,
    'update api_keys set revoked_at = now() where tenant_id = ? and created_by = ? and revoked_at is null returning id',
    [tenantId, userId],
  );
  return rows.map((row) => row.id);
}

/** The API keys and support grants the member created become the heir's (the member's row is about to go). */
export async function handOverToHeir(em: EntityManager, tenantId: string, userId: string, heir: string): Promise<void> {
  await em.execute('update api_keys set created_by = ? where tenant_id = ? and created_by = ?', [heir, tenantId, userId]);
  await em.execute('update support_grants set granted_by = ? where tenant_id = ? and granted_by = ?', [heir, tenantId, userId]);
}

/** Deletes the member's row (its sessions, sign-in links and identities go with it). */
export async function deleteMember(em: EntityManager, tenantId: string, userId: string): Promise<void> {
  await em.execute('delete from users where tenant_id = ? and id = ?', [tenantId, userId]);
}
