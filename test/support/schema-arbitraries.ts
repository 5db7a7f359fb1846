import fc from 'fast-check';
import type { GraphQLArgument, GraphQLField, GraphQLInputType, GraphQLNamedType, GraphQLOutputType } from 'graphql';
import { encodeGlobalId } from '../../src/shared/global-id.ts';

/*
 * Arbitraries generated from the schema itself: for any root field, a document calling it with
 * every argument as a variable, and variables of the right shape filled with hostile content
 * (arbitrary UTF-16, NUL, lone surrogates, huge numbers, deep JSON, odd ids) and, now and then,
 * a value of the wrong type. Types are recognised by their shape, not with graphql's instanceof
 * checks: under vitest the schema's copy of graphql may not be this file's.
 */

/** Any UTF-16 code unit, lone surrogates and NUL included (fast-check's own units leave surrogate halves out). */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: codeUnit, maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '\u0000',
      'a\u0000b',
      '\ud800',
      'x\udfff',
      '😀\ud83d',
      "' or '1'='1",
      '"; drop table agents; --',
      '../../etc/passwd',
      '\u202eevil',
      '%00',
      '\\u0000',
      'fleetgate/agent:1',
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 70_000 }).map((length) => 'x'.repeat(length)) },
);

export const hugeNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.integer({ min: -3, max: 200 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, Number.MAX_VALUE, -Number.MAX_VALUE, 5e-324),
);

/** JSON, from flat to nested far deeper than any client needs (built as a chain, not recursively generated). */
export const deepJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 2, arbitrary: fc.dictionary(hostileString, fc.oneof(hostileString, hugeNumber, fc.constant(null)), { maxKeys: 5 }) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.integer({ min: 20, max: 3_000 }), fc.boolean()).map(([depth, asArray]) => {
      let value: unknown = 'leaf';
      for (let level = 0; level < depth; level++) value = asArray ? [value] : { k: value };
      return value;
    }),
  },
);

/** Anything a JSON body can carry, for a variable sent with the wrong type. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(hostileString, hugeNumber, fc.boolean(), fc.constant(null), deepJson);

/** Real ids of the test's objects (own and another tenant's), mixed with ids that are ids only by name. */
export function oddId(realIds: readonly string[]): fc.Arbitrary<string> {
  const typeName = fc.constantFrom('Agent', 'Tenant', 'User', 'ApiKey', 'Task', 'Credential', 'SupportGrant', 'AuditEvent', 'Node', '');
  return fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...realIds) },
    { weight: 2, arbitrary: fc.tuple(typeName, hostileString).map(([type, id]) => encodeGlobalId(type, id)) },
    { weight: 1, arbitrary: fc.tuple(typeName, fc.uuid()).map(([type, id]) => encodeGlobalId(type, id)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 60 }).map((bytes) => Buffer.from(bytes).toString('base64')) },
    { weight: 2, arbitrary: hostileString },
  );
}

type AnyType = GraphQLInputType | GraphQLOutputType;

const isNonNull = (type: AnyType) => type.constructor.name === 'GraphQLNonNull';
const isList = (type: AnyType) => type.constructor.name === 'GraphQLList';
const ofType = (type: AnyType) => (type as unknown as { ofType: AnyType }).ofType;

function named(type: AnyType): GraphQLNamedType {
  let current = type;
  while ('ofType' in current && current.ofType) current = current.ofType as AnyType;
  return current as GraphQLNamedType;
}

/** A value for an input type: mostly well-shaped and hostile inside, sometimes of the wrong type altogether. */
export function valueFor(type: GraphQLInputType, realIds: readonly string[], depth = 0): fc.Arbitrary<unknown> {
  const shaped = shapedValueFor(type, realIds, depth);
  return fc.oneof({ weight: 9, arbitrary: shaped }, { weight: 1, arbitrary: anyJson });
}

function shapedValueFor(type: GraphQLInputType, realIds: readonly string[], depth: number): fc.Arbitrary<unknown> {
  if (isNonNull(type)) return valueFor(ofType(type) as GraphQLInputType, realIds, depth);
  if (isList(type)) {
    const item = valueFor(ofType(type) as GraphQLInputType, realIds, depth + 1);
    return fc.oneof(
      { weight: 4, arbitrary: fc.array(item, { maxLength: 4 }) },
      { weight: 1, arbitrary: fc.array(item, { minLength: 90, maxLength: 120 }) },
    );
  }
  const namedType = named(type);
  const kind = namedType.constructor.name;
  if (kind === 'GraphQLEnumType') {
    const values = (namedType as unknown as { getValues(): { name: string }[] }).getValues().map((value) => value.name);
    return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...values) }, { weight: 1, arbitrary: hostileString });
  }
  if (kind === 'GraphQLInputObjectType') {
    if (depth > 3) return fc.constant({});
    const fields = Object.values(
      (namedType as unknown as { getFields(): Record<string, { name: string; type: GraphQLInputType }> }).getFields(),
    );
    const model = Object.fromEntries(fields.map((field) => [field.name, valueFor(field.type, realIds, depth + 1)]));
    return fc.record(model, { requiredKeys: fields.filter((field) => isNonNull(field.type)).map((field) => field.name) });
  }
  switch (namedType.name) {
    case 'ID':
      return oddId(realIds);
    case 'Int':
    case 'Float':
      return hugeNumber;
    case 'Boolean':
      return fc.boolean();
    case 'DateTime':
      return fc.oneof(
        fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
        hostileString,
      );
    case 'JSONObject':
      return deepJson;
    default:
      return hostileString; // String, CredentialValue and any scalar added later
  }
}

/** A document calling one root field with every argument as a variable, selecting `__typename` where there is a selection. */
export function documentFor(operation: 'query' | 'mutation', field: GraphQLField<unknown, unknown>): string {
  const args = field.args as readonly GraphQLArgument[];
  const definitions = args.map((arg) => `$${arg.name}: ${String(arg.type)}`).join(', ');
  const call = args.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
  const kind = named(field.type).constructor.name;
  const selection = kind === 'GraphQLScalarType' || kind === 'GraphQLEnumType' ? '' : ' { __typename }';
  return `${operation} Fuzz${definitions ? `(${definitions})` : ''} { ${field.name}${call ? `(${call})` : ''}${selection} }`;
}

/** Variables for a document of `documentFor`; an optional argument is now and then left out. */
export function variablesFor(field: GraphQLField<unknown, unknown>, realIds: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  const args = field.args as readonly GraphQLArgument[];
  const model = Object.fromEntries(args.map((arg) => [arg.name, valueFor(arg.type, realIds)]));
  return fc.record(model, { requiredKeys: args.filter((arg) => isNonNull(arg.type)).map((arg) => arg.name) }) as fc.Arbitrary<
    Record<string, unknown>
  >;
}
