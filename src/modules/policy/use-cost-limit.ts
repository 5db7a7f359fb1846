import {
  type DocumentNode,
  type ExecutionArgs,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLError,
  getOperationAST,
  Kind,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { clientError, refusedBeforeExecution } from '../../shared/errors.ts';
import { wasCheckedBeforeExecution } from './checked-before-execution.ts';

export interface CostLimitOptions {
  /** Highest cost an operation may have. */
  maxCost: number;
  /** Page size assumed for a connection queried without `first`/`last` (the server default). */
  defaultPageSize: number;
}

/**
 * Cost = every field selected, multiplied by the page sizes of the connections above it, so
 * `agents(first: 100) { edges { node { … } } }` costs a hundred times its node. Runs at execution
 * (variables known), for arbitrary and persisted operations alike. The refusal names no threshold.
 */
export function useCostLimit(options: CostLimitOptions): Plugin {
  const price = (args: ExecutionArgs, refuse: (result: { errors: GraphQLError[] }) => void) => {
    if (wasCheckedBeforeExecution(args.contextValue as object)) return;
    const variables = (args.variableValues ?? {}) as Record<string, unknown>;
    if (operationCost(args.document, args.operationName, variables, options) > options.maxCost) {
      refuse({ errors: [refusedBeforeExecution(clientError('BAD_USER_INPUT', 'Operation too expensive: ask for fewer items'))] });
    }
  };
  return {
    onExecute: ({ args, setResultAndStopExecution }) => price(args, setResultAndStopExecution),
    onSubscribe: ({ args, setResultAndStopExecution }) => price(args, setResultAndStopExecution),
  };
}

/**
 * The cost of one operation of `document` (see useCostLimit). Without variables (a document checked
 * when it is published), every page size given by a variable counts as the default page size.
 */
export function operationCost(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown>,
  options: CostLimitOptions,
): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const operation = getOperationAST(document, operationName);
  if (!operation) return 0;
  return costOf(operation.selectionSet, 1, { fragments, variables, options, seen: new Set() });
}

interface Walk {
  fragments: Map<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
  options: CostLimitOptions;
  seen: Set<string>;
}

function costOf(selectionSet: SelectionSetNode | undefined, multiplier: number, walk: Walk): number {
  if (!selectionSet) return 0;
  let cost = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      cost += multiplier;
      cost += costOf(selection.selectionSet, multiplier * pageSizeOf(selection, walk), walk);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      cost += costOf(selection.selectionSet, multiplier, walk);
    } else {
      const fragment = walk.fragments.get(selection.name.value);
      if (!fragment || walk.seen.has(fragment.name.value)) continue; // cycles are a validation error anyway
      walk.seen.add(fragment.name.value);
      cost += costOf(fragment.selectionSet, multiplier, walk);
      walk.seen.delete(fragment.name.value);
    }
  }
  return cost;
}

/** A field taking `first`/`last` is a connection: its children repeat once per requested item. */
function pageSizeOf(field: FieldNode, walk: Walk): number {
  const pageArgs = field.arguments?.filter((arg) => arg.name.value === 'first' || arg.name.value === 'last') ?? [];
  if (pageArgs.length === 0) return field.name.value === 'nodes' ? Math.max(1, listLength(field, walk)) : 1;
  const sizes = pageArgs.map((arg) => numberOf(arg.value, walk.variables));
  const given = sizes.filter((size): size is number => size !== undefined);
  return given.length > 0 ? Math.max(...given, 1) : walk.options.defaultPageSize;
}

function listLength(field: FieldNode, walk: Walk): number {
  const ids = field.arguments?.find((arg) => arg.name.value === 'ids')?.value;
  if (!ids) return 1;
  if (ids.kind === Kind.LIST) return ids.values.length;
  if (ids.kind === Kind.VARIABLE) {
    const value = walk.variables[ids.name.value];
    return Array.isArray(value) ? value.length : 1;
  }
  return 1;
}

function numberOf(value: ValueNode, variables: Record<string, unknown>): number | undefined {
  if (value.kind === Kind.INT) return Number(value.value);
  if (value.kind === Kind.VARIABLE) {
    const variable = variables[value.name.value];
    return typeof variable === 'number' ? variable : undefined;
  }
  return undefined;
}
