import type { KeyObject } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  CHAIN_VERSION,
  type ChainEvent,
  type ChainVerification,
  ChainVerifier,
  type Checkpoint,
  type EncodedEvent,
  HASHED_FIELDS,
} from './chain.ts';

/** Runs one SQL statement with `?` placeholders and returns its rows (the request's transaction, or a bench client). */
export type Sql = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

export function sqlOf(em: EntityManager): Sql {
  return (sql, params) => em.execute(sql, params) as Promise<Record<string, unknown>[]>;
}

/**
 * Every field rendered as the text the canonical encoding hashes, by Postgres built-ins only (not
 * by the chain's own SQL functions, so a replaced function cannot make a changed row read as intact).
 */
const FIELDS = {
  tenantId: 'tenant_id::text',
  seq: 'seq::text',
  id: 'id::text',
  createdAt: `to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
  actorType: 'actor_type',
  actorId: 'actor_id',
  action: 'action',
  targetType: 'target_type',
  targetId: 'target_id',
  outcome: 'outcome',
  requestId: 'request_id',
  detail: 'detail::text',
  prevHash: `encode(prev_hash, 'hex')`,
  hash: `encode(hash, 'hex')`,
} as const;

const CHAIN_COLUMNS = Object.entries(FIELDS)
  .map(([name, expression]) => `${expression} as "${name}"`)
  .join(', ');

/** The canonical encoding (chain.ts) assembled in the query: netstrings of the same fields, in the same order. */
const netstring = (expression: string) =>
  `coalesce(octet_length(convert_to(${expression}, 'UTF8'))::text || ':' || ${expression} || ',', '-,')`;
const ENCODING = [
  `'${Buffer.byteLength(CHAIN_VERSION)}:${CHAIN_VERSION},'`,
  ...HASHED_FIELDS.map((field) => netstring(FIELDS[field])),
].join(' || ');
const ENCODED_COLUMNS = `${FIELDS.seq} as seq, ${FIELDS.id} as id, ${FIELDS.hash} as hash, ${ENCODING} as encoding`;

/**
 * Streams a tenant's events in seq order in keyset batches: constant memory whatever the log's
 * size. The next batch is requested before the current one is handed out, so the database
 * renders rows while the caller hashes.
 */
async function* stream<T extends { seq: string }>(
  sql: Sql,
  columns: string,
  tenantId: string,
  options: { afterSeq?: string; toSeq?: string; batch?: number },
): AsyncGenerator<T> {
  const batch = options.batch ?? 20_000;
  const upTo = options.toSeq ? 'and seq <= ?::bigint' : '';
  const fetch = (after: string) =>
    sql(
      `select ${columns} from audit_events where tenant_id = ?::uuid and seq > ?::bigint ${upTo} order by audit_events.seq limit ?`,
      options.toSeq ? [tenantId, after, options.toSeq, batch] : [tenantId, after, batch],
    ) as unknown as Promise<T[]>;
  let pending: Promise<T[]> | undefined = fetch(options.afterSeq ?? '0');
  while (pending) {
    const rows: T[] = await pending;
    const last = rows.at(-1);
    pending = last && rows.length === batch ? fetch(last.seq) : undefined;
    yield* rows;
  }
}

/** Every field of each event, as exported. */
export function chainEvents(sql: Sql, tenantId: string, options: { afterSeq?: string; toSeq?: string; batch?: number } = {}) {
  return stream<ChainEvent>(sql, CHAIN_COLUMNS, tenantId, options);
}

/** Only what verification needs: ids, links and the canonical encoding. */
export function encodedEvents(sql: Sql, tenantId: string, options: { afterSeq?: string; toSeq?: string; batch?: number } = {}) {
  return stream<EncodedEvent>(sql, ENCODED_COLUMNS, tenantId, options);
}

/** The checkpoint the tenant's earliest remaining event must link to (none while seq 1 is still there). */
export async function startingCheckpoint(sql: Sql, tenantId: string): Promise<Checkpoint | null> {
  const [row] = await sql(
    `select tenant_id::text as "tenantId", seq::text as seq, encode(hash, 'hex') as hash, key_id as "keyId",
            encode(signature, 'base64') as signature
     from audit_checkpoints
     where tenant_id = ?::uuid and seq = (select min(seq) - 1 from audit_events where tenant_id = ?::uuid)`,
    [tenantId, tenantId],
  );
  return (row as unknown as Checkpoint | undefined) ?? null;
}

/**
 * verifyAuditLog's core: recomputes every hash and link of the tenant's chain from genesis or its
 * signed checkpoint, streaming. With `collectFrom`, events from that seq on are streamed with all
 * their fields and handed to `onEvent` (the export collects its range this way).
 */
export async function verifyTenantChain(
  sql: Sql,
  tenantId: string,
  publicKey: KeyObject,
  options: { toSeq?: string; collectFrom?: string; onEvent?: (event: ChainEvent) => void } = {},
): Promise<ChainVerification> {
  const verifier = new ChainVerifier(tenantId, { checkpoint: await startingCheckpoint(sql, tenantId), publicKey });
  const { toSeq, collectFrom, onEvent } = options;
  const fastUntil = collectFrom !== undefined ? String(BigInt(collectFrom) - 1n) : toSeq;
  for await (const event of encodedEvents(sql, tenantId, fastUntil !== undefined ? { toSeq: fastUntil } : {})) {
    if (!verifier.push(event)) return verifier.result();
  }
  if (collectFrom === undefined) return verifier.result();
  for await (const event of chainEvents(sql, tenantId, { afterSeq: fastUntil ?? '0', ...(toSeq ? { toSeq } : {}) })) {
    if (!verifier.push(event)) break;
    onEvent?.(event);
  }
  return verifier.result();
}
