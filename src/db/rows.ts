import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';

/**
 * The boundary of a module's store (`modules/<m>/<m>.store.ts`): a raw statement's rows, parsed with
 * the zod shape the store declares next to its SQL, so the service above speaks domain types and a
 * column that changed under it fails here, loudly, instead of flowing on as `undefined`.
 *
 * A row that does not parse is our bug (a function or a migration out of step with its store), never
 * a client's: it throws a plain Error (masked by yoga like any unexpected one) naming the column and
 * what was wrong with it, never the value, so no secret a row may hold reaches a log or an answer.
 */
export class StoreRowError extends Error {
  override name = 'StoreRowError';
}

/** Parses `rows` as `row[]` (see above), row by row. `what` names the statement in the error. */
export function parseRows<S extends z.ZodType>(row: S, rows: unknown, what: string): z.output<S>[] {
  if (!Array.isArray(rows)) throw new StoreRowError(`${what}: no rows`);
  return rows.map((each, index) => {
    const parsed = row.safeParse(each);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    throw new StoreRowError(`${what}: row ${index} ${issue?.path.join('.') ?? ''} ${issue?.code ?? 'invalid'}`);
  });
}

/** Runs one statement in `em`'s transaction and answers its rows, parsed. */
export async function selectRows<S extends z.ZodType>(
  em: EntityManager,
  row: S,
  sql: string,
  params: readonly unknown[] = [],
): Promise<z.output<S>[]> {
  return parseRows(row, await em.execute(sql, [...params]), firstWords(sql));
}

/** Like selectRows, for a statement that answers one row (a function call, a lookup by key); undefined for none. */
export async function selectRow<S extends z.ZodType>(
  em: EntityManager,
  row: S,
  sql: string,
  params: readonly unknown[] = [],
): Promise<z.output<S> | undefined> {
  return (await selectRows(em, row, sql, params))[0];
}

/** The statement's opening words, to name it in an error without its parameters. */
function firstWords(sql: string): string {
  return sql.replace(/\s+/g, ' ').trim().slice(0, 60);
}

/** A timestamp column: `pg` hands a Date, a jsonb field or a text cast hands its ISO text. */
export const timestamp = z.union([z.date(), z.string()]).transform((value) => new Date(value));
