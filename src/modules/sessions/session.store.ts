import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { selectRow } from '../../db/rows.ts';

/**
 * The sessions module's raw SQL: refresh tokens (stored as the SHA-256 of their secret) and the
 * clean-up of sign-in links. Every statement runs in a transaction under the tenant's RLS setting and
 * names `tenant_id` itself.
 */

/** Stores a new refresh token of the session by its hash. */
export async function insertRefreshToken(em: EntityManager, tenantId: string, sessionId: string, tokenHash: Buffer): Promise<void> {
  await em.execute('insert into session_refresh_tokens (tenant_id, session_id, token_hash) values (?, ?, ?)', [
    tenantId,
    sessionId,
    tokenHash,
  ]);
}

const refreshTokenRow = z.object({ used: z.boolean(), user_id: z.string() }).transform((row) => ({ used: row.used, userId: row.user_id }));

/**
 * The refresh token of the session with this hash: whether it was used already, and whose session it
 * is; the session row stays locked until the transaction ends, so two uses of one token are serial.
 */
export function lockRefreshToken(em: EntityManager, tenantId: string, sessionId: string, tokenHash: Buffer) {
  return selectRow(
    em,
    refreshTokenRow,
    `select t.used_at is not null as used, s.user_id
       from session_refresh_tokens t join user_sessions s on s.id = t.session_id and s.tenant_id = t.tenant_id
      where t.tenant_id = ? and t.session_id = ? and t.token_hash = ?
      for update of s`,
    [tenantId, sessionId, tokenHash],
  );
}

/** Marks the refresh token used, and forgets the session's tokens used more than a day ago (kept that long for reuse detection). */
export async function useRefreshToken(em: EntityManager, tenantId: string, sessionId: string, tokenHash: Buffer): Promise<void> {
  await em.execute('update session_refresh_tokens set used_at = now() where tenant_id = ? and token_hash = ?', [tenantId, tokenHash]);
  await em.execute("delete from session_refresh_tokens where tenant_id = ? and session_id = ? and used_at < now() - interval '1 day'", [
    tenantId,
    sessionId,
  ]);
}

/** Deletes the tenant's sign-in links that expired a day ago or more. */
export async function deleteStaleSignInLinks(em: EntityManager, tenantId: string): Promise<void> {
  await em.execute("delete from sign_in_links where tenant_id = ? and expires_at < now() - interval '1 day'", [tenantId]);
}
