import { createHash } from 'node:crypto';
import type { TokenIssuer } from '../src/auth/tokens.ts';
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

/** A trusted document's id: `sha256:` and the hex digest of its text. */
export function documentIdOf(document: string): string {
  return `sha256:${createHash('sha256').update(document).digest('hex')}`;
}

/**
 * Publishes `documents` as version 1.0.0 of the platform app `app` through the gateway at `port`
 * (an operator may, in production mode too); returns each document's id. Requests naming the app
 * (`x-graphql-client-name`) then run them by id, as a deployed client would.
 */
export async function publishPlatformApp(port: number, tokens: TokenIssuer, app: string, documents: string[]): Promise<string[]> {
  const operator = (await tokens.issue({ kind: 'operator', operatorId: 'bench' })).reveal();
  const ids = documents.map(documentIdOf);
  const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${operator}` },
    body: JSON.stringify({
      query: 'mutation ($input: PublishDocumentsInput!) { publishDocuments(input: $input) { app { versions { version documentCount } } } }',
      variables: {
        input: { app, version: '1.0.0', platform: true, documents: Object.fromEntries(ids.map((id, i) => [id, documents[i]])) },
      },
    }),
  });
  const answer = (await response.json()) as { errors?: unknown[] };
  if (answer.errors) throw new Error(`publishing the bench app ${app} failed: ${JSON.stringify(answer.errors)}`);
  return ids;
}
