import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { selectRows, timestamp } from '../../db/rows.ts';
import { newId } from '../../shared/ids.ts';

/**
 * The SQL of the client app tables (migrations/0032_trusted_documents.sql). A tenant's apps are read
 * and written in a transaction already in that tenant (RLS setting and search path: an enterprise
 * tenant's rows are in its own schema); every statement also names `tenant_id` itself, the ORM
 * filter's part for raw SQL. Platform apps are read and written in operator transactions only.
 */

/** Whose apps: one tenant's, or the platform's. */
export type AppOwner = { kind: 'tenant'; tenantId: string } | { kind: 'platform' };

export interface ClientAppVersionRow {
  version: string;
  documentCount: number;
  publishedBy: string;
  publishedAt: Date;
  retiredAt: Date | null;
}

export interface ClientAppRow {
  id: string;
  name: string;
  platform: boolean;
  createdAt: Date;
  versions: ClientAppVersionRow[];
}

/** Live documents of one app: version → hash → document, newest version first. */
export type LiveDocuments = Map<string, Map<string, string>>;

/** An app with its versions, aggregated as jsonb (timestamps inside it arrive as ISO text). */
const appRow = z.object({
  id: z.string(),
  name: z.string(),
  created_at: timestamp,
  versions: z.array(
    z.object({
      version: z.string(),
      document_count: z.number(),
      published_by: z.string(),
      published_at: timestamp,
      retired_at: timestamp.nullable(),
    }),
  ),
});
const idRow = z.object({ id: z.string() });
const versionRow = z.object({ version: z.string() });
const documentsRow = z.object({ version: z.string(), documents: z.record(z.string(), z.string()) });

function tablesOf(owner: AppOwner) {
  return owner.kind === 'tenant'
    ? { apps: 'client_apps', versions: 'client_app_versions', tenant: 'a.tenant_id = ?', params: [owner.tenantId] }
    : { apps: 'platform_client_apps', versions: 'platform_client_app_versions', tenant: 'true', params: [] };
}

/** The owner's apps (or the one named) with their versions (metadata only: no document), by name. */
export async function listApps(em: EntityManager, owner: AppOwner, name?: string): Promise<ClientAppRow[]> {
  const t = tablesOf(owner);
  const named = name === undefined ? '' : ' and a.name = ?';
  const rows = await selectRows(
    em,
    appRow,
    `select a.id, a.name, a.created_at,
            coalesce((select jsonb_agg(jsonb_build_object('version', v.version, 'document_count', (select count(*) from jsonb_object_keys(v.documents)),
                       'published_by', v.published_by, 'published_at', v.published_at, 'retired_at', v.retired_at) order by v.published_at desc)
                        from ${t.versions} v where v.app_id = a.id), '[]'::jsonb) as versions
       from ${t.apps} a where ${t.tenant}${named} order by a.name limit 200`,
    name === undefined ? t.params : [...t.params, name],
  );
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    platform: owner.kind === 'platform',
    createdAt: row.created_at,
    versions: row.versions.map((v) => ({
      version: v.version,
      documentCount: v.document_count,
      publishedBy: v.published_by,
      publishedAt: v.published_at,
      retiredAt: v.retired_at,
    })),
  }));
}

/** Whether the platform has an app of this name (a tenant's app may not take it). */
export async function platformAppExists(em: EntityManager, name: string): Promise<boolean> {
  const rows = await selectRows(em, idRow, 'select id from platform_client_apps where name = ?', [name]);
  return rows.length > 0;
}

/**
 * Publishes `documents` as `version` of the owner's app `name`, creating the app on its first
 * version. False when that version exists already (published versions never change).
 */
export async function insertVersion(
  em: EntityManager,
  owner: AppOwner,
  input: { name: string; version: string; documents: Record<string, string>; publishedBy: string },
): Promise<boolean> {
  if (owner.kind === 'tenant') {
    await em.execute('insert into client_apps (id, tenant_id, name) values (?, ?, ?) on conflict (tenant_id, name) do nothing', [
      newId(),
      owner.tenantId,
      input.name,
    ]);
    const rows = await selectRows(
      em,
      idRow,
      `insert into client_app_versions (id, tenant_id, app_id, version, documents, published_by)
       select ?, a.tenant_id, a.id, ?, ?::jsonb, ? from client_apps a where a.tenant_id = ? and a.name = ?
       on conflict (tenant_id, app_id, version) do nothing returning id`,
      [newId(), input.version, JSON.stringify(input.documents), input.publishedBy, owner.tenantId, input.name],
    );
    return rows.length === 1;
  }
  await em.execute('insert into platform_client_apps (id, name) values (?, ?) on conflict (name) do nothing', [newId(), input.name]);
  const rows = await selectRows(
    em,
    idRow,
    `insert into platform_client_app_versions (id, app_id, version, documents, published_by)
     select ?, a.id, ?, ?::jsonb, ? from platform_client_apps a where a.name = ?
     on conflict (app_id, version) do nothing returning id`,
    [newId(), input.version, JSON.stringify(input.documents), input.publishedBy, input.name],
  );
  return rows.length === 1;
}

/** Retires one version of the owner's app; false when there is no such live version. */
export async function retireVersion(em: EntityManager, owner: AppOwner, name: string, version: string): Promise<boolean> {
  const t = tablesOf(owner);
  const rows = await selectRows(
    em,
    versionRow,
    `update ${t.versions} v set retired_at = now() from ${t.apps} a
      where v.app_id = a.id and ${t.tenant} and a.name = ? and v.version = ? and v.retired_at is null returning v.version`,
    [...t.params, name, version],
  );
  return rows.length === 1;
}

/** The live (published, not retired) documents of the owner's app `name`; null when it has none. */
export async function liveDocuments(em: EntityManager, owner: AppOwner, name: string): Promise<LiveDocuments | null> {
  const t = tablesOf(owner);
  const rows = await selectRows(
    em,
    documentsRow,
    `select v.version, v.documents from ${t.versions} v join ${t.apps} a on a.id = v.app_id
      where ${t.tenant} and a.name = ? and v.retired_at is null order by v.published_at desc`,
    [...t.params, name],
  );
  if (rows.length === 0) return null;
  return new Map(rows.map((row) => [row.version, new Map(Object.entries(row.documents))]));
}
