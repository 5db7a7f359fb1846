import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { ERROR_CODES } from '../src/shared/errors.ts';

/** The codes of docs/frontend.md's table of errors and refusals. */
const documented = new Set([...readFileSync('docs/frontend.md', 'utf8').matchAll(/^\| `([A-Z_]+)`/gm)].map((match) => match[1] as string));

test('every code the gateway answers is in the documented list, with its status and what to do', () => {
  expect(ERROR_CODES.filter((code) => !documented.has(code))).toEqual([]);
});

test('the documented list names only codes that are answered: the gateway’s own, and those graphql-yoga answers itself', () => {
  const yogas = ['GRAPHQL_PARSE_FAILED', 'OPERATION_RESOLUTION_FAILURE'];
  expect([...documented].filter((code) => !(ERROR_CODES as readonly string[]).includes(code) && !yogas.includes(code))).toEqual([]);
});
