import type { KeyObject } from 'node:crypto';
import type { EntityManager as AnyEntityManager, Transaction } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { type ClientBase, escapeLiteral } from 'pg';
import { z } from 'zod';
import { numberedPlaceholders } from '../../db/row-sql.ts';
import { parseRows } from '../../db/rows.ts';
import {
  CHAIN_VERSION,
  type ChainEvent,
  type ChainVerification,
  ChainVerifier,
  type Checkpoint,
  type EncodedEvent,
  HASHED_FIELDS,
} from './chain.ts';

/**
 * The audit module's raw SQL: the chain's reads (events streamed in seq order, rendered by Postgres
 * built-ins for hashing; the starting checkpoint), retention's cut, checkpoint and drop, the report's
 * range, and the writer's INSERT of staged events. Rows are parsed with the zod shapes beside each
 * statement. The INSERT is on every audited write's path and answers no row: nothing is parsed there.
 * Verification parses each streamed row: about 0.5 µs per row warm (10 ms per 20,000-row batch, measured
 * on a busy machine), beside the SHA-256 of its encoding.
 */

/** Runs one SQL statement with `?` placeholders and returns its rows (the request's transaction, or a client of its own: sqlOfClient). */
export type Sql = (sql: string, params: unknown[]) => Promise<unknown[]>;

export function sqlOf(em: EntityManager): Sql {
  return (sql, params) => em.execute(sql, params) as Promise<unknown[]>;
}

/** The same on a `pg` client of its own (benchmarks, tests), which numbers its placeholders `$1, $2, …`. */
export function sqlOfClient(client: ClientBase): Sql {
  return async (sql, params) => (await client.query(numberedPlaceholders(sql), params)).rows;
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
  row: z.ZodType<T>,
  tenantId: string,
  options: { afterSeq?: string; toSeq?: string; batch?: number },
): AsyncGenerator<T> {
  const batch = options.batch ?? 20_000;
  const upTo = options.toSeq ? 'and seq <= ?::bigint' : '';
  const fetch = async (after: string) =>
    parseRows(
      row,
      await sql(
        `select ${columns} from audit_events where tenant_id = ?::uuid and seq > ?::bigint ${upTo} order by audit_events.seq limit ?`,
        options.toSeq ? [tenantId, after, options.toSeq, batch] : [tenantId, after, batch],
      ),
      'select audit_events',
    );
  let pending: Promise<T[]> | undefined = fetch(options.afterSeq ?? '0');
  while (pending) {
    const rows: T[] = await pending;
    const last = rows.at(-1);
    pending = last && rows.length === batch ? fetch(last.seq) : undefined;
    yield* rows;
  }
}

const chainRow: z.ZodType<ChainEvent> = z.object({
  tenantId: z.string(),
  seq: z.string(),
  id: z.string(),
  createdAt: z.string(),
  actorType: z.string(),
  actorId: z.string(),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  outcome: z.string(),
  requestId: z.string().nullable(),
  detail: z.string(),
  prevHash: z.string(),
  hash: z.string(),
});

/** Every field of each event, as exported. */
export function chainEvents(sql: Sql, tenantId: string, options: { afterSeq?: string; toSeq?: string; batch?: number } = {}) {
  return stream(sql, CHAIN_COLUMNS, chainRow, tenantId, options);
}

const encodedRow: z.ZodType<EncodedEvent> = z.object({ seq: z.string(), id: z.string(), hash: z.string(), encoding: z.string() });

/** Only what verification needs: ids, links and the canonical encoding. */
export function encodedEvents(sql: Sql, tenantId: string, options: { afterSeq?: string; toSeq?: string; batch?: number } = {}) {
  return stream(sql, ENCODED_COLUMNS, encodedRow, tenantId, options);
}

const checkpointRow: z.ZodType<Checkpoint> = z.object({
  tenantId: z.string(),
  seq: z.string(),
  hash: z.string(),
  keyId: z.string(),
  signature: z.string(),
});

/** The checkpoint the tenant's earliest remaining event must link to (none while seq 1 is still there). */
export async function startingCheckpoint(sql: Sql, tenantId: string): Promise<Checkpoint | null> {
  const [row] = parseRows(
    checkpointRow,
    await sql(
      `select tenant_id::text as "tenantId", seq::text as seq, encode(hash, 'hex') as hash, key_id as "keyId",
              encode(signature, 'base64') as signature
       from audit_checkpoints
       where tenant_id = ?::uuid and seq = (select min(seq) - 1 from audit_events where tenant_id = ?::uuid)`,
      [tenantId, tenantId],
    ),
    'select audit_checkpoints',
  );
  return row ?? null;
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

const cutRow = z.object({ seq: z.string(), days: z.number() });

/** Retention's cut: the last seq older than the tenant's audit retention, with that retention; undefined when nothing is that old. */
export async function retentionCut(sql: Sql, tenantId: string): Promise<z.output<typeof cutRow> | undefined> {
  const rows = await sql(
    `select max(e.seq)::text as seq, t.audit_retention_days as days
     from audit_events e join tenants t on t.id = e.tenant_id
     where e.tenant_id = ?::uuid and e.created_at < now() - make_interval(days => t.audit_retention_days)
     group by t.audit_retention_days`,
    [tenantId],
  );
  return parseRows(cutRow, rows, 'select retention cut')[0];
}

/** Stores the signed checkpoint retention cuts the log behind. */
export async function insertCheckpoint(
  sql: Sql,
  checkpoint: { tenantId: string; seq: string; hash: string; keyId: string; signature: Buffer },
): Promise<void> {
  await sql(`insert into audit_checkpoints (tenant_id, seq, hash, key_id, signature) values (?::uuid, ?::bigint, decode(?, 'hex'), ?, ?)`, [
    checkpoint.tenantId,
    checkpoint.seq,
    checkpoint.hash,
    checkpoint.keyId,
    checkpoint.signature,
  ]);
}

const droppedRow = z.object({ dropped: z.number() });

/** audit_drop_through: deletes the tenant's events through `throughSeq` (it re-checks checkpoint and age itself); how many. */
export async function dropThrough(sql: Sql, tenantId: string, throughSeq: string): Promise<number> {
  const rows = await sql('select audit_drop_through(?::uuid, ?::bigint)::int as dropped', [tenantId, throughSeq]);
  return parseRows(droppedRow, rows, 'select audit_drop_through')[0]?.dropped ?? 0;
}

const rangeRow = z.object({ firstSeq: z.string().nullable(), lastSeq: z.string().nullable(), count: z.number() });

/** The seqs and number of the tenant's events created in [from, to). */
export async function eventRange(sql: Sql, tenantId: string, from: Date, to: Date): Promise<z.output<typeof rangeRow>> {
  const rows = await sql(
    `select min(seq)::text as "firstSeq", max(seq)::text as "lastSeq", count(*)::int as count
     from audit_events where tenant_id = ?::uuid and created_at >= ? and created_at < ?`,
    [tenantId, from, to],
  );
  const [range] = parseRows(rangeRow, rows, 'select audit range');
  if (!range) throw new Error('select audit range: no row');
  return range;
}

/**
 * One audit event as the gateway writes it: the chained event's fields without those the database
 * adds (seq, created_at, prev_hash, hash), and its detail as an object, not yet rendered by jsonb.
 */
export type AuditRow = Omit<ChainEvent, 'seq' | 'createdAt' | 'prevHash' | 'hash' | 'detail'> & { detail: Record<string, unknown> };

const COLUMNS = 'id, tenant_id, actor_type, actor_id, action, target_type, target_id, outcome, request_id, detail';

/** A value as an SQL literal, escaped by `pg` (the insert goes out without parameters, see auditWriter). */
const literal = (value: string | null) => (value === null ? 'null' : escapeLiteral(value));

/** The INSERT of `rows`, every value a literal. */
export function auditInsertOf(rows: readonly AuditRow[]): string {
  const values = rows.map((row) => {
    const texts = [row.actorType, row.actorId, row.action, row.targetType, row.targetId, row.outcome, row.requestId].map(literal);
    return `(${literal(row.id)}::uuid, ${literal(row.tenantId)}::uuid, ${texts.join(', ')}, ${literal(JSON.stringify(row.detail))}::jsonb)`;
  });
  return `insert into audit_events (${COLUMNS}) values ${values.join(', ')}`;
}

/** The INSERT of `rows` as a statement of its own in `transaction` (under a savepoint, where no COMMIT can carry it). */
export async function insertAuditRows(
  em: AnyEntityManager,
  rows: readonly AuditRow[],
  transaction: Transaction | undefined,
): Promise<void> {
  await em.getConnection().execute(auditInsertOf(rows), [], 'run', transaction);
}

/**
 * The INSERT of one event as a statement with parameters ($1…), for a lean write, which sends it
 * with its COMMIT (src/db/lean-transaction.ts `withCommit`): a named statement, planned once per connection.
 */
export function auditInsertStatement(row: AuditRow): { sql: string; params: unknown[] } {
  return {
    sql: `insert into audit_events (${COLUMNS}) values ($1::uuid, $2::uuid, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)`,
    params: [
      row.id,
      row.tenantId,
      row.actorType,
      row.actorId,
      row.action,
      row.targetType,
      row.targetId,
      row.outcome,
      row.requestId,
      JSON.stringify(row.detail),
    ],
  };
}
