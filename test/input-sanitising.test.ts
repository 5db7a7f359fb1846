import { createSchema, createYoga } from 'graphql-yoga';
import { describe, expect, test } from 'vitest';
import { useInputSanitising } from '../src/modules/policy/use-input-sanitising.ts';
import { escapeUnsafe, type InputRefusal, unsafeCharacterIn } from '../src/shared/safe-text.ts';

/** The plugin alone, on a bare yoga with a two-field schema: no database, no gateway. */
function bareYoga() {
  const refused: InputRefusal[][] = [];
  const calls: unknown[] = [];
  const yoga = createYoga({
    schema: createSchema({
      typeDefs: /* GraphQL */ `
        scalar JSON
        input Thing { name: String! tags: [String!] data: JSON }
        type Query { echo(text: String, n: Int): String }
        type Mutation { save(id: ID!, thing: Thing!): Boolean }
      `,
      resolvers: {
        Query: {
          echo: (_: unknown, args: { text?: string }) => {
            calls.push(args);
            return args.text ?? null;
          },
        },
        Mutation: {
          save: (_: unknown, args: unknown) => {
            calls.push(args);
            return true;
          },
        },
      },
    }),
    plugins: [
      useInputSanitising({
        maxDocumentCharacters: 500,
        maxValueDepth: 8,
        onRefusal: async (_ctx, refusals) => void refused.push([...refusals]),
      }),
    ],
    logging: false,
  });
  const post = async (body: unknown) => {
    const response = await yoga.fetch('http://bare.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return (await response.json()) as { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  };
  return { post, refused, calls };
}

const SAVE = 'mutation Save($id: ID!, $thing: Thing!) { save(id: $id, thing: $thing) }';

describe('safe text', () => {
  test('NUL and unpaired surrogates are unsafe; pairs, controls and other planes are not', () => {
    expect(unsafeCharacterIn('a\u0000b')).toBe('NUL');
    expect(unsafeCharacterIn('a\ud800b')).toBe('UNPAIRED_SURROGATE');
    expect(unsafeCharacterIn('a\udc00')).toBe('UNPAIRED_SURROGATE');
    expect(unsafeCharacterIn('emoji 😀, tab\t, bell\u0007, ÿ')).toBeUndefined();
  });

  test('escaping writes each unsafe character as its \\u escape and leaves the rest', () => {
    expect(escapeUnsafe('a\u0000b\ud800c😀')).toBe('a\\u0000b\\ud800c😀');
  });
});

describe('useInputSanitising on a bare yoga', () => {
  test('clean input runs', async () => {
    const { post, calls } = bareYoga();
    const response = await post({ query: SAVE, variables: { id: 'x', thing: { name: 'ünïcödé 😀\t', data: { a: [1, { b: 'c' }] } } } });
    expect(response).toEqual({ data: { save: true } });
    expect(calls).toHaveLength(1);
  });

  test.each([
    ['a NUL in a nested variable', { id: 'x', thing: { name: 'a\u0000' } }, 'save.thing.name', 'NUL'],
    ['a NUL in an ID', { id: '\u0000', thing: { name: 'a' } }, 'save.id', 'NUL'],
    [
      'a lone surrogate in a list item',
      { id: 'x', thing: { name: 'a', tags: ['ok', '\udfff'] } },
      'save.thing.tags[1]',
      'UNPAIRED_SURROGATE',
    ],
    [
      'a NUL deep in JSON scalar content',
      { id: 'x', thing: { name: 'a', data: { a: [{ b: 'x\u0000' }] } } },
      'save.thing.data.a[0].b',
      'NUL',
    ],
    ['a NUL in a JSON object key', { id: 'x', thing: { name: 'a', data: { 'k\u0000': 1 } } }, 'save.thing.data.k\\u0000', 'NUL'],
  ])('%s is refused naming the argument path, audited, and nothing runs', async (_name, variables, field, reason) => {
    const { post, refused, calls } = bareYoga();
    const response = await post({ query: SAVE, variables });
    const what = reason === 'NUL' ? 'a NUL character' : 'an unpaired UTF-16 surrogate';
    // The whole answer: the path and what was wrong, never the value.
    expect(response).toEqual({
      errors: [{ message: `Invalid ${field}: contains ${what}`, extensions: { code: 'BAD_USER_INPUT', field } }],
    });
    expect(refused).toEqual([[{ action: 'Mutation.save', field, reason }]]);
    expect(calls).toEqual([]);
  });

  test('a NUL written as an escape in a document literal is refused', async () => {
    const { post, refused } = bareYoga();
    const response = await post({ query: '{ echo(text: "a\\u0000b") }' });
    expect(response.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'echo.text' });
    expect(refused).toEqual([[{ action: 'Query.echo', field: 'echo.text', reason: 'NUL' }]]);
  });

  test("a variable's default value in the document is checked too, named by its variable", async () => {
    const { post, refused } = bareYoga();
    await post({ query: 'query Q($t: String = "\\u0000") { echo(text: $t) }' });
    expect(refused).toEqual([[{ action: 'Query', field: '$t', reason: 'NUL' }]]);
  });

  test('JSON nested beyond the depth limit is refused without walking it all', async () => {
    const { post, refused } = bareYoga();
    const deep = `${'['.repeat(100_000)}"leaf"${']'.repeat(100_000)}`; // JSON.stringify itself could not write it
    const response = await post(`{"query":${JSON.stringify(SAVE)},"variables":{"id":"x","thing":{"name":"a","data":{"deep":${deep}}}}}`);
    expect(response.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(refused[0]?.[0]?.reason).toBe('TOO_DEEP');
  });

  test('a document over the character limit is refused before parsing, with the generic limit message', async () => {
    const { post, calls } = bareYoga();
    const response = await post({ query: `#${'x'.repeat(600)}\n{ echo(text: "hi") }` });
    expect(response.errors).toEqual([
      { message: 'Syntax Error: Query validation error.', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } },
    ]);
    expect(calls).toEqual([]);
  });

  test('a variable of the wrong type is refused with BAD_USER_INPUT', async () => {
    const { post } = bareYoga();
    const response = await post({ query: 'query Q($n: Int) { echo(n: $n) }', variables: { n: 2 ** 40 } });
    expect(response.errors?.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
  });
});
