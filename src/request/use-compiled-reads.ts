import { type JITCache, useGraphQlJit } from '@envelop/graphql-jit';
import { leanOperationOf } from '../db/lean-transaction.ts';
import type { Logger } from '../shared/logger.ts';

/** Compiled documents kept, by their text; emptied when full, as the lean path's statement names are. */
const MAX_COMPILED_DOCUMENTS = 1_000;

/** How many documents this process has compiled (tests). */
let compilations = 0;
export const compiledDocuments = (): number => compilations;

/**
 * Executes the hot reads with graphql-jit (issue 24): a query the lean path serves in full
 * (`leanOperationOf`: `agents` with fields of its rows) runs as JavaScript compiled once per
 * document, instead of graphql-js walking the document again for each of its rows. Everything else
 * executes as before. The bench's read at 10,000 tenants, alternating rounds of one run: 612 against
 * 674 µs of gateway CPU per request, 1,456 against 1,298 req/s.
 *
 * Compiled code calls the schema's own resolvers, so the resolver scopes (wall 1) decide as they do
 * uncompiled (test/walls.test.ts, test/lean-transaction.test.ts). graphql-jit replaces the execute
 * function it is handed, so this plugin comes before every plugin that wraps execution: after
 * useRequestTransaction it dropped the request's transaction, and RLS answered the read with
 * nothing; after useInputSanitising, the code of a variable's coercion error. Only the lean
 * shapes are compiled: a compilation costs about a millisecond, and compiling any document a client
 * can write in development mode would hand it that cost on every request.
 */
export function useCompiledReads(log: Logger): ReturnType<typeof useGraphQlJit> {
  const byText = new Map<string, Parameters<JITCache['set']>[1]>();
  const cache: JITCache = {
    get: (text) => byText.get(text),
    set(text, entry) {
      if (byText.size >= MAX_COMPILED_DOCUMENTS) byText.clear();
      byText.set(text, entry);
      compilations += 1;
    },
  };
  return useGraphQlJit(
    {},
    {
      cache,
      enableIf: (args) => leanOperationOf(args.document, args.operationName, args.variableValues ?? {}) === 'query',
      // The document passed validation, so this is graphql-jit's own failure; its executions answer these errors.
      onError: (result) => log.error({ errors: result.errors?.map((error) => error.message) }, 'compiling a read failed'),
    },
  );
}
