import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { parseRows, selectRow, selectRows } from '../../db/rows.ts';
import { unauthenticated } from '../../shared/errors.ts';

/**
 * The memory module's raw SQL: the agent memory functions of migrations/functions/memory.sql (each
 * enters the agent's request itself), the tenant's memory settings, the maintenance's deletes, the
 * sharing key and memory-key escrow rows, agent token generations and the agent lookups of handoffs.
 *
 * On the agent's hot path: `memoryEntry` (get) and `writeContext` + `upsertEntry` (put) run once per
 * memory request, on the agent channel and through GraphQL, so their row shapes are built once here:
 * parsing one such row costs well under a microsecond warm, against a few hundred for the request.
 */

/**
 * The row of an agent memory function, which enters the agent's request itself. The token is checked
 * in that same statement: `live` false means it is no longer live (its agent was stopped, restarted
 * or deleted since it was minted), so the request is UNAUTHENTICATED, whatever else it asked.
 * Undefined when the function returned no row.
 */
async function liveRow<S extends z.ZodType>(em: EntityManager, row: S, sql: string, params: unknown[]): Promise<z.output<S> | undefined> {
  const [found] = await em.execute<{ live?: unknown }[]>(sql, params);
  if (found === undefined) return undefined;
  if (found.live === false) throw unauthenticated();
  return parseRows(row, [found], sql.slice(0, 40))[0];
}

const entryRow = z.object({
  live: z.literal(true),
  id: z.string(),
  tags: z.array(z.string()),
  ciphertext: z.instanceof(Uint8Array),
  expires_ms: z.number().nullable(),
  created_ms: z.number(),
  updated_ms: z.number(),
  wrapped_key: z.string(),
});

/** agent_memory_entry: the agent's live entry by key with the wrapped data key it was sealed under. */
export function memoryEntry(em: EntityManager, entry: unknown[], key: string): Promise<z.output<typeof entryRow> | undefined> {
  return liveRow(em, entryRow, 'select * from agent_memory_entry(?, ?, ?, ?, ?)', [...entry, key]);
}

const writeContextRow = z.object({
  live: z.literal(true),
  max_value_bytes: z.number(),
  wrapped_key: z.string().nullable(),
  key_id: z.string().nullable(),
});

/** agent_memory_write_context: the tenant's per-value limit with the agent's wrapped data key (none before its first write). */
export function writeContext(em: EntityManager, entry: unknown[]): Promise<z.output<typeof writeContextRow> | undefined> {
  return liveRow(em, writeContextRow, 'select * from agent_memory_write_context(?, ?, ?, ?)', entry);
}

const upsertedRow = z.object({ live: z.literal(true), id: z.string(), created_ms: z.number() });

/** agent_memory_upsert: writes the sealed entry (a new one, or over the key's previous value); its id and creation time. */
export function upsertEntry(
  em: EntityManager,
  entry: unknown[],
  value: {
    id: string;
    key: string;
    tags: string[];
    ciphertext: Buffer;
    keyId: string;
    size: number;
    expiresAt: Date | null | undefined;
    now: Date;
  },
): Promise<z.output<typeof upsertedRow> | undefined> {
  return liveRow(em, upsertedRow, 'select * from agent_memory_upsert(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', [
    ...entry,
    value.id,
    value.key,
    JSON.stringify(value.tags),
    value.ciphertext,
    value.keyId,
    value.size,
    value.expiresAt,
    value.now,
  ]);
}

const createdKeyRow = z.object({ live: z.literal(true), wrapped_key: z.string(), key_id: z.string() });

/** agent_memory_create_key: stores the agent's first data key, or keeps the one a concurrent first write stored; answers the key stored. */
export function createKey(em: EntityManager, entry: unknown[], provider: string, wrapped: string) {
  return liveRow(em, createdKeyRow, 'select * from agent_memory_create_key(?, ?, ?, ?, ?, ?)', [...entry, provider, wrapped]);
}

const entryCountRow = z.object({ agent_id: z.string(), entries: z.number() });

/** The number of entries of each of these agents (deleted agents awaiting the purge). */
export async function entryCounts(em: EntityManager, agentIds: string[]): Promise<Map<string, number>> {
  const rows = await selectRows(
    em,
    entryCountRow,
    'select agent_id, count(*)::int as entries from agent_memory where agent_id in (?) group by agent_id',
    [agentIds],
  );
  return new Map(rows.map((row) => [row.agent_id, row.entries]));
}

const retentionRow = z.object({ memory_retention_days: z.number() });

/** Sets the tenant's memory retention and moves its pending purges with it; answers the previous number of days. */
export async function setRetentionDays(em: EntityManager, days: number): Promise<number | null> {
  const previous = await selectRow(em, retentionRow, 'select memory_retention_days from tenants');
  await em.execute('update tenants set memory_retention_days = ?', [days]);
  await em.execute('update memory_purges set purge_after = deleted_at + make_interval(days => ?)', [days]);
  return previous?.memory_retention_days ?? null;
}

const valueLimitRow = z.object({ memory_max_value_bytes: z.number() });

/** The tenant's largest value per entry (and per handoff payload), under the transaction's tenant. */
export async function valueLimit(em: EntityManager): Promise<number | undefined> {
  return (await selectRow(em, valueLimitRow, 'select memory_max_value_bytes from tenants'))?.memory_max_value_bytes;
}

const anyRow = z.object({});

/** Whether the agent is one of the transaction's tenant (RLS): another tenant's and a missing one look the same. */
export async function agentExists(em: EntityManager, agentId: string): Promise<boolean> {
  return (await selectRows(em, anyRow, 'select 1 from agents where id = ?', [agentId])).length > 0;
}

const tenantIdRow = z.object({ tenant_id: z.string() });

/** The tenants with expired entries or due purges at `now` (memory_maintenance_tenants: tenant ids alone). */
export async function maintenanceTenants(em: EntityManager, now: Date): Promise<string[]> {
  const rows = await selectRows(em, tenantIdRow, 'select tenant_id from memory_maintenance_tenants(?)', [now]);
  return rows.map((row) => row.tenant_id);
}

const agentIdRow = z.object({ agent_id: z.string() });

/** Deletes the tenant's expired entries and the memory of its agents whose purge is due; the counts. */
export async function expireAndPurge(
  em: EntityManager,
  now: Date,
): Promise<{ expiredEntries: number; purgedAgents: number; purgedEntries: number }> {
  const expired = await em.execute('delete from agent_memory where expires_at <= ?', [now], 'run');
  const purges = await selectRows(em, agentIdRow, 'delete from memory_purges where purge_after <= ? returning agent_id', [now]);
  const agents = purges.map((row) => row.agent_id);
  const purged = agents.length > 0 ? await em.execute('delete from agent_memory where agent_id in (?)', [agents], 'run') : undefined;
  return {
    expiredEntries: affectedRows(expired),
    purgedAgents: agents.length,
    purgedEntries: affectedRows(purged),
  };
}

function affectedRows(result: unknown): number {
  return Number((result as { affectedRows?: number } | undefined)?.affectedRows ?? 0);
}

const escrowRow = z.object({ key_agent_id: z.string(), key_wrapped: z.string() });

/** The escrow rows still wrapped below `version` (memory_escrow_below_key_version), at most `limit`. */
export async function escrowBelow(orm: MikroORM, version: number, limit: number) {
  return selectRows(orm.em.fork(), escrowRow, 'select * from memory_escrow_below_key_version(?, ?)', [version, limit]);
}

const replacedRow = z.object({ replaced: z.boolean() });

/** rewrap_memory_escrow: replaces the escrow row only while it still holds `old`; whether it did. */
export async function rewrapEscrow(orm: MikroORM, agentId: string, old: string, fresh: string): Promise<boolean> {
  const row = await selectRow(orm.em.fork(), replacedRow, 'select rewrap_memory_escrow(?, ?, ?) as replaced', [agentId, old, fresh]);
  return row?.replaced === true;
}

const sharingKeyRow = z.object({ wrapped_key: z.string() });

/** The tenant's wrapped sharing key, if it has one yet. */
export async function sharingKey(em: EntityManager, tenantId: string): Promise<string | undefined> {
  const row = await selectRow(em, sharingKeyRow, 'select wrapped_key from tenant_sharing_keys where tenant_id = ?', [tenantId]);
  return row?.wrapped_key;
}

/** Stores the tenant's first sharing key; a concurrent first use's key wins (nothing is written). */
export async function insertSharingKey(em: EntityManager, tenantId: string, provider: string, wrapped: string): Promise<void> {
  await em.execute(
    'insert into tenant_sharing_keys (tenant_id, provider, wrapped_key) values (?, ?, ?) on conflict (tenant_id) do nothing',
    [tenantId, provider, wrapped],
  );
}

const generationRow = z.object({ token_generation: z.number() });

/** Moves the agent's token generation on, revoking every token of its earlier starts; the new generation, undefined without the agent. */
export async function nextTokenGeneration(em: EntityManager, agentId: string): Promise<number | undefined> {
  const row = await selectRow(
    em,
    generationRow,
    'update agents set token_generation = token_generation + 1 where id = ? returning token_generation',
    [agentId],
  );
  return row?.token_generation;
}

/** Moves the agent's token generation on (its tokens stop working at once). */
export async function revokeTokenGeneration(em: EntityManager, agentId: string): Promise<void> {
  await em.execute('update agents set token_generation = token_generation + 1 where id = ?', [agentId]);
}
