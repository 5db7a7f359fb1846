import { readdirSync, readFileSync } from 'node:fs';
import { buildSchema, type DefinitionNode, Kind, parse, validate } from 'graphql';
import { describe, expect, test } from 'vitest';

/**
 * Every GraphQL example in the README and docs/ is accepted by the gateway's schema as written
 * (placeholders such as "<Agent id>" are ordinary strings), so an example a reader pastes into
 * GraphiQL does not fail on a renamed field, a JSON key that is not a GraphQL name, or an ellipsis.
 * A block may list several operations, one per line, to be run one at a time: each is checked alone.
 */
const schema = buildSchema(readFileSync('schema/schema.graphql', 'utf8'));
const files = [
  'README.md',
  ...readdirSync('docs')
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];
const examples = files.flatMap((file) => {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/```graphql\n([\s\S]*?)```/g)].map((match) => ({
    where: `${file}:${text.slice(0, match.index).split('\n').length}`,
    source: match[1] ?? '',
  }));
});

/** The validation errors of each operation of a block, with the block's fragments beside it. */
function errorsOf(source: string): string[] {
  const document = parse(source);
  const fragments = document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION);
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  return operations.flatMap((operation: DefinitionNode) =>
    validate(schema, { kind: Kind.DOCUMENT, definitions: [operation, ...fragments] }).map((error) => error.message),
  );
}

describe('GraphQL examples in the docs', () => {
  test('there are examples to check', () => {
    expect(examples.length).toBeGreaterThan(20);
  });

  test.each(examples.map((example) => [example.where, example.source]))('%s is valid against the schema', (_where, source) => {
    expect(errorsOf(source)).toEqual([]);
  });
});
