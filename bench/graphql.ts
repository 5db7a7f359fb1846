import type { createServer } from '../src/server.ts';

type Yoga = Pick<ReturnType<typeof createServer>, 'fetch'>;

/**
 * One GraphQL request to a gateway in this process, through yoga's whole HTTP handling
 * (`yoga.fetch`), as the benchmarks drive it. Any error in the answer throws, prefixed with `label`.
 */
export async function benchGraphql(
  yoga: Yoga,
  query: string,
  variables: Record<string, unknown>,
  options: { token?: string; label?: string } = {},
  // biome-ignore lint/suspicious/noExplicitAny: untyped bench documents; every field read is checked by use.
): Promise<any> {
  const response = await yoga.fetch('http://bench/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: unknown; errors?: unknown[] };
  if (body.errors) throw new Error(`${options.label ? `${options.label}: ` : ''}${JSON.stringify(body.errors)}`);
  return body.data ?? {};
}
