import type { DirectiveNode, DocumentNode, ExecutionArgs, FieldNode, GraphQLError, SelectionSetNode, ValueNode } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { Context } from '../../request/context.ts';
import { badInput, clientError } from '../../shared/errors.ts';
import { escapeUnsafe, type InputRefusal, unsafeCharacterIn } from '../../shared/safe-text.ts';

export interface InputSanitisingOptions {
  /** Longest document (`query` text) in characters, refused before it is parsed; tokens are counted while parsing (graphql-armor). */
  maxDocumentCharacters: number;
  /** Deepest nesting of lists and objects within one variable or argument (JSON scalars included); default 32. */
  maxValueDepth?: number;
  /**
   * Records the refusal (the gateway wires the audit trail here). Awaited before the answer; a
   * failure is logged and the request is refused all the same.
   */
  onRefusal?: (ctx: Context, refusals: readonly InputRefusal[]) => Promise<void>;
}

/** The same generic answer as graphql-armor's depth, alias, directive and token limits: it names no threshold. */
export function documentLimitError(): GraphQLError {
  return clientError('GRAPHQL_VALIDATION_FAILED', 'Syntax Error: Query validation error.');
}

const MAX_REFUSALS = 5;
const MAX_SEGMENT = 40;

/**
 * One input check for the whole API, so no resolver, service or store meets a string Postgres
 * cannot carry (see safe-text.ts). Every string of the operation is looked at before anything
 * runs: string literals in the document (arguments, directive arguments, variable defaults) and
 * every variable, nested, JSON scalar content and object keys included. A string holding NUL or
 * an unpaired surrogate, or a value nested deeper than `maxValueDepth`, refuses the operation
 * with `BAD_USER_INPUT` naming the argument path; the value itself is never echoed, logged or
 * recorded. Documents longer than `maxDocumentCharacters` are refused before parsing.
 *
 * It also gives the errors graphql-js raises while coercing variables (wrong type, out of range)
 * the code `BAD_USER_INPUT`, so that the request transaction's audit trail sees a client error.
 */
export function useInputSanitising(options: InputSanitisingOptions): Plugin {
  const maxDepth = options.maxValueDepth ?? 32;
  return {
    onParams({ params, setResult }) {
      if (typeof params.query === 'string' && params.query.length > options.maxDocumentCharacters) {
        setResult({ errors: [documentLimitError()] });
      }
    },
    async onExecute({ args, executeFn, setExecuteFn, setResultAndStopExecution }) {
      const refusals = refusalsOf(args, maxDepth);
      if (refusals.length > 0) {
        const ctx = args.contextValue as Context;
        try {
          await options.onRefusal?.(ctx, refusals);
        } catch (error) {
          ctx.log.error({ err: error }, 'could not record refused input in the audit log');
        }
        setResultAndStopExecution({ errors: refusals.map(({ field, reason }) => badInput(`Invalid ${field}: ${REASONS[reason]}`, field)) });
        return;
      }
      setExecuteFn(async (executionArgs) => {
        const result = await executeFn(executionArgs);
        if (result && 'errors' in result && result.errors) return { ...result, errors: result.errors.map(codedRequestError) };
        return result;
      });
    },
  };
}

const REASONS: Record<InputRefusal['reason'], string> = {
  NUL: 'contains a NUL character',
  UNPAIRED_SURROGATE: 'contains an unpaired UTF-16 surrogate',
  TOO_DEEP: 'nested too deeply',
};

/**
 * graphql-js reports variable coercion failures as errors without a path or a code: they are the
 * client's. The scalar's own error inside gets the code too: the gateway's error masking answers
 * with that inner error (its message does not repeat the whole variable). The coded error is a
 * copy: graphql-jit's errors (src/request/use-compiled-reads.ts) have no extensions to add it to.
 */
function codedRequestError(error: GraphQLError): GraphQLError {
  if (error.path !== undefined || error.extensions?.code !== undefined) return error;
  const inner = error.originalError as GraphQLError | undefined;
  if (inner?.name === 'GraphQLError' && inner.extensions !== undefined && inner.extensions.code === undefined)
    (inner.extensions as Record<string, unknown>).code = 'BAD_USER_INPUT';
  return createGraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    originalError: error.originalError,
    extensions: { ...error.extensions, code: 'BAD_USER_INPUT' },
  });
}

interface Walk {
  root: string;
  refusals: Map<string, InputRefusal>;
  /** The first argument path each variable is used at, to name a refused variable by where it went. */
  usages: Map<string, { action: string; field: string }>;
  maxDepth: number;
}

function refusalsOf(args: ExecutionArgs, maxDepth: number): InputRefusal[] {
  const document = args.document as DocumentNode;
  const operation = document.definitions.find(
    (definition) =>
      definition.kind === 'OperationDefinition' && (args.operationName == null || definition.name?.value === args.operationName),
  );
  const root =
    operation?.kind === 'OperationDefinition'
      ? { query: 'Query', mutation: 'Mutation', subscription: 'Subscription' }[operation.operation]
      : 'Query';
  const walk: Walk = { root, refusals: new Map(), usages: new Map(), maxDepth };
  for (const definition of document.definitions) {
    if (definition.kind === 'OperationDefinition') {
      for (const variable of definition.variableDefinitions ?? []) {
        if (variable.defaultValue) checkLiteral(variable.defaultValue, `$${variable.variable.name.value}`, root, walk, 0);
      }
      checkDirectives(definition.directives, [], walk);
      checkSelections(definition.selectionSet, [], walk);
    } else if (definition.kind === 'FragmentDefinition') {
      checkDirectives(definition.directives, [], walk);
      checkSelections(definition.selectionSet, [], walk);
    }
  }
  for (const [name, value] of Object.entries((args.variableValues ?? {}) as Record<string, unknown>)) {
    const usage = walk.usages.get(name) ?? { action: root, field: `$${segment(name)}` };
    checkJson(value, usage.field, usage.action, walk, 0);
  }
  return [...walk.refusals.values()].slice(0, MAX_REFUSALS);
}

function checkSelections(selectionSet: SelectionSetNode | undefined, fieldPath: string[], walk: Walk): void {
  for (const selection of selectionSet?.selections ?? []) {
    checkDirectives(selection.directives, fieldPath, walk);
    if (selection.kind === 'Field') {
      const path = [...fieldPath, selection.name.value];
      checkArguments(selection, path, walk);
      checkSelections(selection.selectionSet, path, walk);
    } else if (selection.kind === 'InlineFragment') {
      checkSelections(selection.selectionSet, fieldPath, walk);
    }
  }
}

function checkArguments(field: FieldNode, path: string[], walk: Walk): void {
  const action = `${walk.root}.${path[0]}`;
  for (const argument of field.arguments ?? []) checkLiteral(argument.value, `${path.join('.')}.${argument.name.value}`, action, walk, 0);
}

function checkDirectives(directives: readonly DirectiveNode[] | undefined, fieldPath: string[], walk: Walk): void {
  const action = fieldPath.length > 0 ? `${walk.root}.${fieldPath[0]}` : walk.root;
  for (const directive of directives ?? []) {
    for (const argument of directive.arguments ?? []) {
      const at = [...fieldPath, `@${directive.name.value}`, argument.name.value].join('.');
      checkLiteral(argument.value, at, action, walk, 0);
    }
  }
}

function checkLiteral(value: ValueNode, field: string, action: string, walk: Walk, depth: number): void {
  if (depth > walk.maxDepth) {
    refuse(walk, { action, field, reason: 'TOO_DEEP' });
  } else if (value.kind === 'StringValue') {
    checkString(value.value, field, action, walk);
  } else if (value.kind === 'Variable') {
    if (!walk.usages.has(value.name.value)) walk.usages.set(value.name.value, { action, field });
  } else if (value.kind === 'ListValue') {
    for (const [index, item] of value.values.entries()) checkLiteral(item, `${field}[${index}]`, action, walk, depth + 1);
  } else if (value.kind === 'ObjectValue') {
    for (const each of value.fields) checkLiteral(each.value, `${field}.${each.name.value}`, action, walk, depth + 1);
  }
}

/** Recursion stops at `maxDepth`, so a value nested a million deep costs no stack. */
function checkJson(value: unknown, field: string, action: string, walk: Walk, depth: number): void {
  if (walk.refusals.size >= MAX_REFUSALS) return;
  if (typeof value === 'string') {
    checkString(value, field, action, walk);
  } else if (value === null || typeof value !== 'object') {
    // numbers, booleans and null carry nothing Postgres cannot store
  } else if (depth >= walk.maxDepth) {
    refuse(walk, { action, field, reason: 'TOO_DEEP' });
  } else if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) checkJson(item, `${field}[${index}]`, action, walk, depth + 1);
  } else {
    for (const [key, item] of Object.entries(value)) {
      const at = `${field}.${segment(key)}`;
      checkString(key, at, action, walk);
      checkJson(item, at, action, walk, depth + 1);
    }
  }
}

function checkString(value: string, field: string, action: string, walk: Walk): void {
  const reason = unsafeCharacterIn(value);
  if (reason) refuse(walk, { action, field, reason });
}

function refuse(walk: Walk, refusal: InputRefusal): void {
  const key = `${refusal.action} ${refusal.field} ${refusal.reason}`;
  if (walk.refusals.size < MAX_REFUSALS && !walk.refusals.has(key)) walk.refusals.set(key, refusal);
}

/** A client-chosen object key in a path: escaped (it may itself hold the NUL) and cut short. */
function segment(key: string): string {
  const escaped = escapeUnsafe(key);
  return escaped.length > MAX_SEGMENT ? `${escaped.slice(0, MAX_SEGMENT)}…` : escaped;
}
