import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { type DocumentNode, type GraphQLError, type GraphQLSchema, getOperationAST, Kind, parse } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { type CostLimitOptions, operationCost } from './use-cost-limit.ts';

/** Most tokens a document may have (the armor's limit below). */
const MAX_TOKENS = 4_000;

/** graphql-armor's refusals carry no code of their own: they get the one of every other document refusal. */
const codeRefusal = [
  (_context: unknown, error: GraphQLError) => {
    const extensions = error.extensions as Record<string, unknown>;
    extensions.code ??= 'GRAPHQL_VALIDATION_FAILED';
  },
];

/**
 * The gateway's document limits: every request's document (server.ts) and every published trusted
 * document (checkTrustedDocument) pass the same plugin. Messages never disclose a threshold. Depth
 * and tokens leave room for GraphiQL's introspection.
 */
export const armor = EnvelopArmorPlugin({
  maxDepth: { n: 12, exposeLimits: false, ignoreIntrospection: true, onReject: codeRefusal },
  maxAliases: { n: 15, exposeLimits: false, onReject: codeRefusal },
  maxDirectives: { n: 20, exposeLimits: false, onReject: codeRefusal },
  maxTokens: { n: MAX_TOKENS, exposeLimits: false, onReject: codeRefusal },
  costLimit: { enabled: false }, // replaced by useCostLimit, which knows page sizes
  blockFieldSuggestion: { enabled: false }, // per principal in useSchemaPrivacy
});

/** Highest operation cost by default (see useCostLimit): one 100-item page of ten fields costs about 1,200. */
export const DEFAULT_MAX_COST = 3_000;
/** The page size the server assumes for a connection queried without `first`/`last`. */
export const DEFAULT_PAGE_SIZE = 20;

/** A yoga per schema, only to run its parse and validate with the armor (never serves a request). */
const checkers = new WeakMap<GraphQLSchema, ReturnType<typeof createYoga>>();

/**
 * Why a document may not become a trusted document, or undefined when it may: it must parse within
 * the token limit, hold exactly one operation, validate against `schema` with the depth, alias and
 * directive limits, and cost no more than `cost.maxCost` with default page sizes. The same checks a
 * request's document gets at run time (which then also prices the actual variables).
 */
export function checkTrustedDocument(schema: GraphQLSchema, source: string, cost: CostLimitOptions): string | undefined {
  let checker = checkers.get(schema);
  if (!checker) {
    checker = createYoga({ schema, plugins: [armor], logging: false, graphiql: false });
    checkers.set(schema, checker);
  }
  try {
    const operations = parse(source, { maxTokens: MAX_TOKENS }).definitions.filter((each) => each.kind === Kind.OPERATION_DEFINITION);
    if (operations.length !== 1) return 'A trusted document holds exactly one operation';
  } catch (error) {
    return reasonOf(error as Error);
  }
  const enveloped = checker.getEnveloped({
    request: new Request('http://localhost/graphql', { method: 'POST' }),
    params: { query: source },
  });
  let document: DocumentNode;
  try {
    document = enveloped.parse(source);
    // The armor's rules throw their refusal rather than report it.
    const errors = enveloped.validate(enveloped.schema, document) as readonly GraphQLError[];
    if (errors.length > 0) return errors.map(reasonOf).join('; ');
  } catch (error) {
    return reasonOf(error as Error);
  }
  const operation = getOperationAST(document);
  if (operationCost(document, operation?.name?.value, {}, cost) > cost.maxCost) return 'Operation too expensive: ask for fewer items';
  return undefined;
}

/** The armor's refusals say nothing (exposeLimits: false); a publisher learns which rules they are, never the thresholds. */
function reasonOf(error: Error): string {
  return error.message === ARMOR_REFUSAL ? 'over the gateway’s depth, alias, directive or token limit' : error.message;
}
const ARMOR_REFUSAL = 'Syntax Error: Query validation error.';
