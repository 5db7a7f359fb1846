import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { selectRow, selectRows, timestamp } from '../../db/rows.ts';
import { newId } from '../../shared/ids.ts';
import { JIT_ROLES } from './oidc-connection.entity.ts';

/**
 * The OIDC module's raw SQL: the connection lookups across tenants (oidc_connections_of and
 * platform_oidc_connections_of, migrations/functions/sessions.sql), the linked identities, the
 * one-time use of ID tokens and the platform's own connections. The tenant's statements run in a
 * transaction already in that tenant and name `tenant_id` themselves.
 */

/** A tenant's connection as oidc_connections_of answers it. */
const tenantConnection = z.object({
  id: z.string(),
  tenant_id: z.string(),
  client_id: z.string(),
  allowed_domains: z.array(z.string()),
  role_claim: z.string().nullable(),
  role_mapping: z.record(z.string(), z.enum(JIT_ROLES)),
  jit_role: z.enum(JIT_ROLES).nullable(),
});
export type ConnectionRow = z.output<typeof tenantConnection>;

const platformConnectionRow = z.object({ id: z.string(), client_id: z.string(), allowed_domains: z.array(z.string()) });
export type PlatformConnectionRow = z.output<typeof platformConnectionRow>;

/** The tenants' and the platform's connections registered for this issuer and one of these client ids, in the database of `em`. */
export async function connectionsFor(em: EntityManager, issuer: string, audiences: readonly string[]) {
  const params = [issuer, JSON.stringify(audiences)];
  const tenants = await selectRows(
    em,
    tenantConnection,
    'select * from oidc_connections_of(?, array(select jsonb_array_elements_text(?::jsonb)))',
    params,
  );
  const platform = await selectRows(
    em,
    platformConnectionRow,
    'select * from platform_oidc_connections_of(?, array(select jsonb_array_elements_text(?::jsonb)))',
    params,
  );
  return { tenants, platform };
}

const tenantIdRow = z.object({ tenant_id: z.string() });

/** The standard tenants where this identity (by linked subject or verified email) is already a member. */
export async function platformMemberTenants(
  em: EntityManager,
  issuer: string,
  subject: string,
  email: string | undefined,
): Promise<string[]> {
  const rows = await selectRows(em, tenantIdRow, 'select platform_oidc_member_tenants(?, ?, ?) as tenant_id', [issuer, subject, email]);
  return rows.map((row) => row.tenant_id);
}

const admissionRow = z.object({ known: z.boolean(), active: z.boolean(), tenant_name: z.string().nullable() });
export type Admission = { known: boolean; active: boolean; tenantName: string | null };

/**
 * What the tenant knows of this person, read inside that tenant's own transaction (its RLS setting
 * and search_path): `known`, an identity linked to the subject or a member with the email (any
 * status); `active`, the member a sign-in would open a session for (the linked one, else the one
 * with the email) is ACTIVE; and the tenant's name, which only a tenant where the person is an
 * active member may show it (the console's tenant chooser, OIDC_TENANT_REQUIRED's `choices`).
 */
export async function admissionOf(
  em: EntityManager,
  tenantId: string,
  issuer: string,
  subject: string | undefined,
  email: string,
): Promise<Admission> {
  const row = await selectRow(
    em,
    admissionRow,
    `select exists (select 1 from oidc_identities where tenant_id = ? and issuer = ? and subject = ?)
         or exists (select 1 from users where tenant_id = ? and email = ?) as known,
       coalesce((select u.status = 'ACTIVE' from users u
                  where u.tenant_id = ?
                    and u.id = coalesce((select i.user_id from oidc_identities i where i.tenant_id = ? and i.issuer = ? and i.subject = ?),
                                        (select e.id from users e where e.tenant_id = ? and e.email = ?))), false) as active,
       (select t.name from tenants t where t.id = ?) as tenant_name`,
    [tenantId, issuer, subject, tenantId, email, tenantId, tenantId, issuer, subject, tenantId, email, tenantId],
  );
  return { known: row?.known === true, active: row?.active === true, tenantName: row?.tenant_name ?? null };
}

const firstUseRow = z.object({ first: z.boolean() });

/**
 * Records the ID token's first use (its hash, until it expires), after forgetting the tenant's
 * expired ones; false when it was used before: a replay.
 */
export async function firstUseOf(em: EntityManager, tenantId: string, idToken: string, expiresAt: number): Promise<boolean> {
  await em.execute('delete from oidc_token_uses where tenant_id = ? and expires_at < now()', [tenantId]);
  const rows = await selectRows(
    em,
    firstUseRow,
    `insert into oidc_token_uses (tenant_id, token_hash, expires_at) values (?, ?, to_timestamp(?))
     on conflict do nothing returning true as first`,
    [tenantId, createHash('sha256').update(idToken).digest(), expiresAt],
  );
  return rows.length > 0;
}

const userIdRow = z.object({ user_id: z.string() });

/** The member an identity is linked to, if any. */
export async function linkedUser(
  em: EntityManager,
  tenantId: string,
  issuer: string,
  subject: string | undefined,
): Promise<string | undefined> {
  const row = await selectRow(em, userIdRow, 'select user_id from oidc_identities where tenant_id = ? and issuer = ? and subject = ?', [
    tenantId,
    issuer,
    subject,
  ]);
  return row?.user_id;
}

/** Links the identity to the member (once; a link that exists stays). */
export async function linkIdentity(
  em: EntityManager,
  tenantId: string,
  issuer: string,
  subject: string | undefined,
  userId: string,
): Promise<void> {
  await em.execute('insert into oidc_identities (tenant_id, issuer, subject, user_id) values (?, ?, ?, ?) on conflict do nothing', [
    tenantId,
    issuer,
    subject,
    userId,
  ]);
}

/** A platform connection as operators see it. */
const platformOidcConnection = z.object({
  id: z.string(),
  issuer: z.string(),
  clientId: z.string(),
  allowedDomains: z.array(z.string()),
  createdAt: timestamp,
});
export type PlatformOidcConnection = z.output<typeof platformOidcConnection>;

const PLATFORM_COLUMNS = 'id, issuer, client_id as "clientId", allowed_domains as "allowedDomains", created_at as "createdAt"';

/** Inserts a platform connection; a duplicate issuer and client id fails with the unique violation. */
export async function insertPlatformConnection(
  em: EntityManager,
  input: { issuer: string; clientId: string; allowedDomains: readonly string[] },
): Promise<PlatformOidcConnection | undefined> {
  return selectRow(
    em,
    platformOidcConnection,
    `insert into platform_oidc_connections (id, issuer, client_id, allowed_domains)
     values (?, ?, ?, array(select jsonb_array_elements_text(?::jsonb))) returning ${PLATFORM_COLUMNS}`,
    [newId(), input.issuer, input.clientId, JSON.stringify(input.allowedDomains)],
  );
}

export function platformConnections(em: EntityManager): Promise<PlatformOidcConnection[]> {
  return selectRows(em, platformOidcConnection, `select ${PLATFORM_COLUMNS} from platform_oidc_connections order by id`);
}

const idRow = z.object({ id: z.string() });

/** Deletes a platform connection; false when there was none with that id. */
export async function deletePlatformConnection(em: EntityManager, id: string): Promise<boolean> {
  const rows = await selectRows(em, idRow, 'delete from platform_oidc_connections where id = ? returning id', [id]);
  return rows.length > 0;
}
