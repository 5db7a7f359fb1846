import type { GraphQLError } from 'graphql';
import { clientError } from '../shared/errors.ts';

/**
 * Limits on each of the app role's pooled connections (milliseconds; 0 or absent: none). Postgres
 * enforces the first three itself, per connection (`statement_timeout`, `lock_timeout`,
 * `idle_in_transaction_session_timeout` sent at connect); the pool enforces the wait for a connection.
 */
export interface DatabaseTimeouts {
  /** A statement running longer is cancelled (SQLSTATE 57014). */
  statementMs?: number;
  /** A wait for a lock (a table, a row, an advisory lock) longer than this fails (55P03). */
  lockMs?: number;
  /** A transaction left idle longer is ended by the server, its locks released (25P03). */
  idleInTransactionMs?: number;
  /** A request waiting longer for a free pooled connection fails. */
  poolAcquireMs?: number;
}

/** The `pg` pool options for the timeouts (MikroORM's `driverOptions`). */
export function poolOptionsFor(timeouts: DatabaseTimeouts = {}): Record<string, number> {
  const options: Record<string, number> = {};
  if (timeouts.statementMs) options.statement_timeout = timeouts.statementMs;
  if (timeouts.lockMs) options.lock_timeout = timeouts.lockMs;
  if (timeouts.idleInTransactionMs) options.idle_in_transaction_session_timeout = timeouts.idleInTransactionMs;
  if (timeouts.poolAcquireMs) options.connectionTimeoutMillis = timeouts.poolAcquireMs;
  return options;
}

/** SQLSTATEs of a database too busy to answer in time, by the limit that fired. */
const BUSY_STATES: Record<string, string> = {
  '55P03': 'lock_timeout',
  '57014': 'statement_timeout',
  '25P03': 'idle_in_transaction_timeout',
  '53300': 'too_many_connections',
};

/** What pg-pool rejects with when no connection came free within `connectionTimeoutMillis`. */
const POOL_TIMEOUT = /timeout exceeded when trying to connect/i;

/**
 * The database restarting or gone (test/chaos-postgres.test.ts): the server ending sessions
 * (57P01 admin shutdown, 57P02 crash shutdown, 57P03 starting up or shutting down), a connection
 * exception (class 08), the socket refused or reset, and what `pg` says of a connection that died.
 */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03']);
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);
const CONNECTION_LOST = /^(Connection terminated|Client has encountered a connection error|Client was closed and is not queryable)/;

/**
 * The answer to an error caused by a busy, stuck or unreachable database: 503 SERVICE_UNAVAILABLE
 * with `reason: DATABASE_BUSY` (a limit fired) or `DATABASE_UNAVAILABLE` (the connection was lost or
 * refused: a restart, a failover) and `Retry-After: 1`, never a masked 500 or a hang. The SQL, the
 * table, the limit and the server's own message are not disclosed. Undefined for any other error.
 */
export function databaseBusyError(error: unknown): GraphQLError | undefined {
  const limit = busyLimitOf(error);
  if (!limit) return undefined;
  const unavailable = limit === 'connection_lost';
  const answer = clientError('SERVICE_UNAVAILABLE', `The database is ${unavailable ? 'unavailable' : 'busy'}; try again shortly`, {
    reason: unavailable ? 'DATABASE_UNAVAILABLE' : 'DATABASE_BUSY',
    http: { status: 503, headers: { 'retry-after': '1' } },
  });
  // For the metrics only (fleetgate_database_busy_total): not enumerable, never serialised to the client.
  Object.defineProperty(answer.extensions, 'limit', { value: limit, enumerable: false });
  return answer;
}

/** Which limit an error (or one of its causes) reports, if any; `connection_lost` for a database gone or restarting. */
export function busyLimitOf(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && BUSY_STATES[code]) return BUSY_STATES[code];
    if (POOL_TIMEOUT.test(current.message)) return 'pool_timeout';
    if (isConnectionLost(current)) return 'connection_lost';
    current = (current as { cause?: unknown; originalError?: unknown }).originalError ?? current.cause;
  }
  return undefined;
}

/**
 * Whether an error says the connection itself is gone (or never came): the server has then ended
 * the transaction on it, and `pg` will not send another statement on it.
 */
export function isConnectionLost(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_STATES.has(code) || SOCKET_ERRORS.has(code) || code.startsWith('08'))) return true;
  return CONNECTION_LOST.test(error.message);
}

/** A statement refused for a duplicate key (SQLSTATE 23505), as `pg` reports it on a lean path (the ORM wraps it as UniqueConstraintViolationException). */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '23505';
}
