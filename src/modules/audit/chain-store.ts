import type { KeyObject } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { type ChainEvent, type ChainVerification, ChainVerifier, type Checkpoint } from './chain.ts';

/** Runs one SQL statement with `?` placeholders and returns its rows (the request's transaction, or a bench client). */
export type Sql = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

export function sqlOf(em: EntityManager): Sql {
  return (sql, params) => em.execute(sql, params) as Promise<Record<string, unknown>[]>;
}

/**
 * Every field rendered as the text the canonical encoding hashes, by Postgres built-ins only (not
 * by the chain's own SQL functions, so a replaced function cannot make a changed row read as intact).
 */
const CHAIN_COLUMNS = `tenant_id::text as "tenantId", seq::text as seq, id::text as id,
  to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "createdAt",
  actor_type as "actorType", actor_id as "actorId", action, target_type as "targetType", target_id as "targetId",
  outcome, request_id as "requestId", detail::text as detail, encode(prev_hash, 'hex') as "prevHash", encode(hash, 'hex') as hash`;

/** Streams a tenant's events in seq order in keyset batches: constant memory whatever the log's size. */
export async function* chainEvents(
  sql: Sql,
  tenantId: string,
  options: { afterSeq?: string; toSeq?: string; batch?: number } = {},
): AsyncGenerator<ChainEvent> {
  const batch = options.batch ?? 10_000;
  let after = options.afterSeq ?? '0';
  for (;;) {
    const rows = (await sql(
      `select ${CHAIN_COLUMNS} from audit_events
       where tenant_id = ?::uuid and seq > ?::bigint and (?::bigint is null or seq <= ?::bigint)
       order by audit_events.seq limit ?`,
      [tenantId, after, options.toSeq ?? null, options.toSeq ?? null, batch],
    )) as unknown as ChainEvent[];
    for (const row of rows) yield row;
    const last = rows.at(-1);
    if (!last || rows.length < batch) return;
    after = last.seq;
  }
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
 * signed checkpoint, streaming. `onEvent` sees each verified event (the export collects its range).
 */
export async function verifyTenantChain(
  sql: Sql,
  tenantId: string,
  publicKey: KeyObject,
  options: { toSeq?: string; onEvent?: (event: ChainEvent) => void } = {},
): Promise<ChainVerification> {
  const verifier = new ChainVerifier(tenantId, { checkpoint: await startingCheckpoint(sql, tenantId), publicKey });
  for await (const event of chainEvents(sql, tenantId, options.toSeq ? { toSeq: options.toSeq } : {})) {
    if (!verifier.push(event)) break;
    options.onEvent?.(event);
  }
  return verifier.result();
}
