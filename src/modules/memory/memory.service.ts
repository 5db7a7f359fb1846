import { z } from 'zod';
import { assertCan } from '../../auth/actions.ts';
import type { Principal } from '../../auth/principal.ts';
import { findPage, type PageArgs } from '../../db/pagination.ts';
import { agentRequestEntry } from '../../db/request-scope.ts';
import { AGENT_FILTER } from '../../db/tenant-filter.ts';
import { type KeyProvider, KeyProviderUnavailableError } from '../../keys/index.ts';
import type { RequestScope } from '../../request/scope.ts';
import { badInput, clientError, notFound } from '../../shared/errors.ts';
import { isUuid, newId } from '../../shared/ids.ts';
import { RETENTION_DAYS } from '../../shared/retention-days.ts';
import { parseInput } from '../../shared/validation.ts';
import { recordAudit } from '../audit/index.ts';
import { changeTenant, type Tenant } from '../tenants/index.ts';
import { MemoryEntry, MemoryKey, MemoryPurge } from './memory.entity.ts';
import * as store from './memory.store.ts';
import { aadOf, openValue, sealValue } from './memory-crypto.ts';

/** What memory services need beyond a request: the key provider wrapping the agents' data keys. */
export type MemoryScope = RequestScope & { keys: { provider: KeyProvider } };

/** A decrypted entry, as the API returns it. `value` is JSON text. */
export interface MemoryItem {
  /** The row id: the pagination cursor. */
  id: string;
  tenantId: string;
  agentId: string;
  key: string;
  value: string;
  tags: string[];
  expiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Most entries one export returns; an agent holding more is refused with a clear error. */
export const MAX_EXPORT_ENTRIES = 10_000;

/** Printable text only: keys and tags end up in exports and logs' neighbours, never control characters. */
const printable = (text: string) => !/\p{Cc}/u.test(text);
const KEY = z.string().min(1).max(256).refine(printable, 'must not contain control characters');
const TAG = z.string().min(1).max(64).refine(printable, 'must not contain control characters');
const putInput = z.object({
  key: KEY,
  value: z.string(),
  tags: z.array(TAG).max(32).default([]),
  expiresAt: z.date().nullable().default(null),
});
const listInput = z.object({ prefix: KEY.optional(), tag: TAG.optional() });
/** Built once: zod compiles an object schema on its first parse, which is far dearer than the parse. */
const keyInput = z.object({ key: KEY });
type AgentPrincipal = Extract<Principal, { kind: 'agent' }>;

/** Memory through an agent token is always the token's own agent: the principal is the only source of the id. */
function selfOf(scope: RequestScope): AgentPrincipal {
  if (scope.principal.kind !== 'agent') throw new Error('agent memory needs an agent principal');
  return scope.principal;
}

/**
 * Writes (or replaces) one entry of the calling agent. The value must be JSON text within the
 * tenant's per-value limit; it is stored encrypted under the agent's data key. A failure (bad
 * input, key provider down) changes nothing: the previous value, if any, stays.
 *
 * Two statements, lean SQL rather than the unit of work (three on the agent's first write, which
 * makes its data key): the tenant's limit with the agent's wrapped key, then the upsert, each a
 * function of migrations/functions/memory.sql that enters the agent's request itself (settings, token liveness). So
 * it runs in the request's transaction or, on the agent channel, with no transaction around it: the
 * upsert is one statement, and a key made for a write that then fails is simply the agent's key.
 * Every statement names the principal's tenant and agent itself (the ORM filters' wall, in SQL),
 * under RLS (wall 3).
 */
export async function putMemory(scope: MemoryScope, input: unknown): Promise<MemoryItem> {
  assertCan(scope.principal, 'agent.self.memory');
  const self = selfOf(scope);
  const fields = parseInput(putInput, input);
  const json = canonicalJson(fields.value);
  const size = Buffer.byteLength(json, 'utf8');
  const settings = await store.writeContext(scope.em, agentRequestEntry(self));
  if (!settings) throw new Error('tenant settings unreadable');
  const limit = settings.max_value_bytes;
  if (size > limit) throw badInput(`value is too large: ${size} bytes, this tenant allows at most ${limit} bytes per entry`, 'value');
  if (fields.expiresAt && fields.expiresAt.getTime() <= Date.now()) throw badInput('expiresAt must be in the future', 'expiresAt');
  const key =
    settings.wrapped_key && settings.key_id ? { wrapped: settings.wrapped_key, keyId: settings.key_id } : await createDataKey(scope, self);
  const ciphertext = await withUnwrapped(scope, key.wrapped, (dataKey) =>
    sealValue(dataKey, aadOf(self.tenantId, self.agentId, fields.key), json),
  );
  const now = new Date();
  const tags = [...new Set(fields.tags)];
  const saved = await store.upsertEntry(scope.em, agentRequestEntry(self), {
    id: newId(),
    key: fields.key,
    tags,
    ciphertext,
    keyId: key.keyId,
    size,
    expiresAt: fields.expiresAt,
    now,
  });
  if (!saved) throw new Error('memory entry not written');
  return {
    id: saved.id,
    tenantId: self.tenantId,
    agentId: self.agentId,
    key: fields.key,
    value: json,
    tags,
    expiresAt: fields.expiresAt,
    createdAt: new Date(saved.created_ms),
    updatedAt: now,
  };
}

/**
 * The calling agent's entry, or null when there is none, it expired, or it was sealed under a key
 * since destroyed (a write that raced a wipe). One statement (agent_memory_entry, migrations/functions/memory.sql)
 * that enters the agent's request itself and reads the entry with the wrapped data key it was sealed
 * under, named by the principal's tenant and agent, under RLS; so it needs no transaction around it
 * (the agent channel sends it alone). A token no longer live is UNAUTHENTICATED.
 */
export async function getMemory(scope: MemoryScope, key: string): Promise<MemoryItem | null> {
  assertCan(scope.principal, 'agent.self.memory');
  const self = selfOf(scope);
  const { key: valid } = parseInput(keyInput, { key });
  const row = await store.memoryEntry(scope.em, agentRequestEntry(self), valid);
  if (!row) return null;
  const aad = aadOf(self.tenantId, self.agentId, valid);
  const value = await withUnwrapped(scope, row.wrapped_key, (dataKey) => openOrRefuse(dataKey, aad, Buffer.from(row.ciphertext)));
  return {
    id: row.id,
    tenantId: self.tenantId,
    agentId: self.agentId,
    key: valid,
    value,
    tags: row.tags,
    expiresAt: row.expires_ms === null ? null : new Date(row.expires_ms),
    createdAt: new Date(row.created_ms),
    updatedAt: new Date(row.updated_ms),
  };
}

export async function deleteMemory(scope: MemoryScope, key: string): Promise<boolean> {
  assertCan(scope.principal, 'agent.self.memory');
  const { key: valid } = parseInput(keyInput, { key });
  return (await scope.em.nativeDelete(MemoryEntry, { key: valid })) > 0;
}

/** The calling agent's live entries, by key prefix and/or tag, in creation order (keyset pages). */
export async function listMemory(scope: MemoryScope, filter: unknown, page: PageArgs): Promise<MemoryItem[]> {
  assertCan(scope.principal, 'agent.self.memory');
  const self = selfOf(scope);
  const { prefix, tag } = parseInput(listInput, filter ?? {});
  const where: Record<string, unknown> = {};
  if (prefix) where.key = { $like: `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%` };
  if (tag) where.tags = { $contains: [tag] };
  return readSealed(scope, self.agentId, (keyId) => findPage(scope.em, MemoryEntry, { ...where, keyId }, page));
}

/**
 * Owners and admins export ONE agent's memory, decrypted, and the export is audited. The agent is
 * looked up in the caller's tenant first (another tenant's agent is NOT_FOUND, like a missing one),
 * and the query names that agent in the ORM's agent filter: there is no way to ask for several.
 */
/** A row of an export that could not be decrypted (tampered, or sealed under another key): named by id and key, never by content. */
export interface UnreadableMemoryEntry {
  id: string;
  key: string;
  reason: 'DECRYPTION_FAILED';
}

/** At most this many unreadable rows are named in the export's audit event (all are counted). */
const MAX_AUDITED_UNREADABLE = 20;

export async function exportAgentMemory(
  scope: MemoryScope,
  agentId: string,
): Promise<{ agentId: string; entries: MemoryItem[]; unreadable: UnreadableMemoryEntry[] }> {
  assertCan(scope.principal, 'memory.manage');
  await assertAgentInTenant(scope, agentId);
  const unreadable: UnreadableMemoryEntry[] = [];
  const items = await readSealedEach(scope, agentId, unreadable, async (keyId) => {
    const entries = await scope.em.find(
      MemoryEntry,
      { keyId },
      { filters: { [AGENT_FILTER]: { agentId } }, orderBy: { id: 'asc' }, limit: MAX_EXPORT_ENTRIES + 1 },
    );
    if (entries.length > MAX_EXPORT_ENTRIES) throw badInput(`This agent holds more than ${MAX_EXPORT_ENTRIES} entries; export is refused`);
    return entries;
  });
  const detail: Record<string, unknown> = { entries: items.length };
  if (unreadable.length > 0) {
    // One bad row degrades the export, not the whole agent: the rest is returned, the bad rows are named and audited.
    detail.unreadable = unreadable.length;
    detail.unreadableIds = unreadable.slice(0, MAX_AUDITED_UNREADABLE).map((entry) => entry.id);
    scope.log.warn({ agentId, unreadable: detail.unreadableIds }, 'memory rows could not be decrypted; exported without them');
  }
  recordAudit(scope, { action: 'memory.export', targetType: 'Agent', targetId: agentId, detail });
  await scope.em.flush();
  return { agentId, entries: items, unreadable };
}

/**
 * Owners and admins wipe ONE agent's memory: its entries and its data key (the next write makes a
 * new one), audited with the number of entries removed.
 */
export async function wipeAgentMemory(scope: MemoryScope, agentId: string): Promise<number> {
  assertCan(scope.principal, 'memory.manage');
  await assertAgentInTenant(scope, agentId);
  const filters = { [AGENT_FILTER]: { agentId } };
  const deleted = await scope.em.nativeDelete(MemoryEntry, {}, { filters: { ...filters, live: false } });
  await scope.em.nativeDelete(MemoryKey, {}, { filters });
  recordAudit(scope, { action: 'memory.wipe', targetType: 'Agent', targetId: agentId, detail: { entries: deleted } });
  await scope.em.flush();
  return deleted;
}

export interface PendingPurge {
  agentId: string;
  deletedAt: Date;
  purgeAfter: Date;
  entries: number;
}

/** Deleted agents whose (already unreadable) memory rows await the purge, soonest first. */
export async function pendingMemoryPurges(scope: RequestScope): Promise<PendingPurge[]> {
  assertCan(scope.principal, 'memory.manage');
  const purges = await scope.em.find(MemoryPurge, {}, { orderBy: { purgeAfter: 'asc' }, limit: 1000 });
  if (purges.length === 0) return [];
  const byAgent = await store.entryCounts(
    scope.em,
    purges.map((purge) => purge.agentId),
  );
  return purges.map((purge) => ({
    agentId: purge.agentId,
    deletedAt: purge.deletedAt,
    purgeAfter: purge.purgeAfter,
    entries: byAgent.get(purge.agentId) ?? 0,
  }));
}

const retentionInput = z.object({ days: z.number().int().min(RETENTION_DAYS.memory.min).max(RETENTION_DAYS.memory.max) });

/**
 * Owners choose how long a deleted agent's memory rows are kept before the purge (1–3650 days, 30 by
 * default). The data is unreadable from the deletion on either way; pending purges move with it.
 */
export async function setMemoryRetention(scope: RequestScope, input: unknown): Promise<number> {
  assertCan(scope.principal, 'memory.retention');
  const { days } = parseInput(retentionInput, input);
  const previous = await store.setRetentionDays(scope.em, days);
  recordAudit(scope, {
    action: 'memory.retention.set',
    targetType: 'Tenant',
    detail: { days, previous },
  });
  await scope.em.flush();
  return days;
}

/** The database's bounds on `tenants.memory_max_value_bytes` (migrations/0007): 1 byte to 1 MiB. */
export const MEMORY_VALUE_LIMIT_BOUNDS = { min: 1, max: 1_048_576 } as const;
const valueLimitInput = z.object({
  maxValueBytes: z
    .number()
    .int('must be a whole number of bytes')
    .min(MEMORY_VALUE_LIMIT_BOUNDS.min, `must be at least ${MEMORY_VALUE_LIMIT_BOUNDS.min} byte`)
    .max(MEMORY_VALUE_LIMIT_BOUNDS.max, `must be at most ${MEMORY_VALUE_LIMIT_BOUNDS.max} bytes (1 MiB)`),
});

/**
 * Operators set the largest value one memory entry (and one handoff payload) of a tenant may hold,
 * like every other limit: `platform.tenants.manage` here (through changeTenant), and the database
 * refuses the change from any transaction that is not an operator's (tenants_guard_columns). Audited
 * in the tenant's own log with the previous value. A lower limit refuses later writes that exceed
 * it; what is stored stays, readable and unchanged.
 */
export function setMemoryValueLimit(scope: RequestScope, tenantId: string, input: unknown): Promise<Tenant> {
  assertCan(scope.principal, 'platform.tenants.manage');
  const { maxValueBytes } = parseInput(valueLimitInput, input);
  return changeTenant(scope, tenantId, 'memory.valueLimit.set', (tenant) => {
    const previous = tenant.memoryMaxValueBytes;
    tenant.memoryMaxValueBytes = maxValueBytes;
    return { maxValueBytes, previous };
  });
}

/** Another tenant's agent and a missing one give the same NOT_FOUND. */
export async function assertAgentInTenant(scope: RequestScope, agentId: string): Promise<void> {
  if (!(isUuid(agentId) && (await store.agentExists(scope.em, agentId)))) throw notFound('Agent', agentId);
}

/**
 * The agent's entries that `find` returns among those sealed under its live data key (`keyId`),
 * decrypted. Without a key row the agent has no readable memory, and a row sealed under a key since
 * destroyed (a write that raced a wipe) is never returned. A provider that cannot unwrap is a clear
 * SERVICE_UNAVAILABLE.
 */
async function readSealed(scope: MemoryScope, agentId: string, find: (keyId: string) => Promise<MemoryEntry[]>): Promise<MemoryItem[]> {
  const key = await scope.em.findOne(MemoryKey, { agentId }, { filters: { [AGENT_FILTER]: { agentId } } });
  if (!key) return [];
  const entries = await find(key.keyId);
  if (entries.length === 0) return [];
  return withUnwrapped(scope, key.wrappedKey, (dataKey) => entries.map((entry) => decrypt(entry, dataKey)));
}

/** readSealed for a whole-agent read: a row that does not decrypt is set aside in `unreadable` instead of failing the read. */
async function readSealedEach(
  scope: MemoryScope,
  agentId: string,
  unreadable: UnreadableMemoryEntry[],
  find: (keyId: string) => Promise<MemoryEntry[]>,
): Promise<MemoryItem[]> {
  const key = await scope.em.findOne(MemoryKey, { agentId }, { filters: { [AGENT_FILTER]: { agentId } } });
  if (!key) return [];
  const entries = await find(key.keyId);
  if (entries.length === 0) return [];
  return withUnwrapped(scope, key.wrappedKey, (dataKey) =>
    entries.flatMap((entry) => {
      try {
        return [itemOf(entry, openValue(dataKey, aadOf(entry.tenantId, entry.agentId, entry.key), Buffer.from(entry.ciphertext)))];
      } catch {
        unreadable.push({ id: entry.id, key: entry.key, reason: 'DECRYPTION_FAILED' });
        return [];
      }
    }),
  );
}

/**
 * The agent's first write makes its data key; a concurrent first write of the same agent loses the
 * insert race and uses the winner's key. Returns the key now stored: wrapped, and its id.
 */
async function createDataKey(scope: MemoryScope, agent: AgentPrincipal): Promise<{ wrapped: string; keyId: string }> {
  const fresh = await withProvider(() => scope.keys.provider.generateDataKey());
  fresh.plaintext.fill(0);
  const row = await store.createKey(scope.em, agentRequestEntry(agent), scope.keys.provider.kind, fresh.wrapped);
  if (!row) throw keyGone();
  return { wrapped: row.wrapped_key, keyId: row.key_id };
}

function keyGone() {
  return clientError('SERVICE_UNAVAILABLE', 'This agent’s memory cannot be decrypted: its data key is gone');
}

/**
 * Runs `use` with the plaintext of a wrapped data key, then zeroes it. Unwrapped on every call, never
 * cached: a provider that is down, sealed or lost its KEK refuses at once, and a destroyed key row
 * leaves nothing behind in this process.
 */
async function withUnwrapped<T>(scope: MemoryScope, wrapped: string, use: (dataKey: Buffer) => T): Promise<T> {
  const dataKey = await withProvider(() => scope.keys.provider.unwrapDataKey(wrapped));
  try {
    return use(dataKey);
  } finally {
    dataKey.fill(0);
  }
}

/** A key provider call; a provider that cannot be used is a clear SERVICE_UNAVAILABLE naming what is unavailable. */
export async function withProvider<T>(call: () => Promise<T>, what = 'Agent memory'): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof KeyProviderUnavailableError) {
      throw clientError('SERVICE_UNAVAILABLE', `${what} is unavailable: the key provider cannot be used. Nothing was changed.`);
    }
    throw error;
  }
}

function decrypt(entry: MemoryEntry, dataKey: Buffer): MemoryItem {
  return itemOf(entry, openOrRefuse(dataKey, aadOf(entry.tenantId, entry.agentId, entry.key), Buffer.from(entry.ciphertext)));
}

function openOrRefuse(dataKey: Buffer, aad: string, sealed: Buffer): string {
  try {
    return openValue(dataKey, aad, sealed);
  } catch {
    throw clientError('SERVICE_UNAVAILABLE', 'This agent’s memory cannot be decrypted with its data key');
  }
}

function itemOf(entry: MemoryEntry, value: string): MemoryItem {
  return {
    id: entry.id,
    tenantId: entry.tenantId,
    agentId: entry.agentId,
    key: entry.key,
    value,
    tags: entry.tags as string[],
    expiresAt: entry.expiresAt ?? null,
    createdAt: entry.createdAt,
    updatedAt: entry.updatedAt,
  };
}

/** JSON text in, canonical JSON text out (whitespace removed); anything else is a clear BAD_USER_INPUT. */
export function canonicalJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    throw badInput('value must be valid JSON text', 'value');
  }
}
