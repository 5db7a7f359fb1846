import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { buildSchema, lexicographicSortSchema, printSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import manifest from '../src/generated/operations/persisted-documents.json' with { type: 'json' };
import { type Gateway, startGateway } from './support/gateway.ts';

const run = promisify(execFile);
const EXAMPLE = resolve('examples/web-client');
const bin = (name: string) => resolve('node_modules/.bin', name);

/** Runs a command to its end; a failure carries the command's stderr in the message. */
async function sh(file: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  try {
    return await run(file, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, timeout: 60_000 });
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`${file} ${args.join(' ')} failed:\n${stderr ?? ''}${stdout ?? ''}`);
  }
}

/** A TypeScript entry point run the way the docs run it: Node 24 with tsx. */
const node = (script: string, args: string[], options: Parameters<typeof sh>[2]) =>
  sh(process.execPath, ['--import', 'tsx', script, ...args], options);

async function post(url: string, body: Record<string, unknown>, token?: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as { data?: Record<string, Record<string, unknown>>; errors?: unknown[] };
  expect(answer.errors).toBeUndefined();
  return answer.data ?? {};
}
const gatewayHash = (operation: string) => Object.entries(manifest).find(([, document]) => document.includes(` ${operation}(`))?.[0];

describe('examples/web-client: generated, type-checked, published and run against a production gateway', () => {
  let gw: Gateway;
  let server: Server;
  let url: string;
  beforeAll(async () => {
    // Generate the example's client from the current schema/schema.graphql and type-check it, while the gateway starts.
    const [gateway] = await Promise.all([
      startGateway({ policy: { mode: 'production' } }),
      sh(bin('graphql-codegen'), ['--config', 'codegen.ts', '--silent'], { cwd: EXAMPLE }).then(() =>
        sh(bin('tsc'), ['--noEmit', '-p', 'tsconfig.json'], { cwd: EXAMPLE }),
      ),
    ]);
    gw = gateway;
    server = createServer((request, response) => void gw.yoga(request, response));
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/graphql`;
  });
  afterAll(async () => {
    await new Promise((closed) => server?.close(closed));
    await gw?.close();
  });

  test('an operator fetches the whole schema from the running gateway with codegen and the operator token', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetgate-sdl-'));
    try {
      const config = {
        schema: { [url]: { headers: { authorization: `Bearer ${await gw.operator.token()}` } } },
        generates: { [join(dir, 'schema.graphql')]: { plugins: ['schema-ast'] } },
      };
      await writeFile(join(dir, 'codegen.json'), JSON.stringify(config));
      await sh(bin('graphql-codegen'), ['--config', join(dir, 'codegen.json'), '--silent']);
      const fetched = buildSchema(await readFile(join(dir, 'schema.graphql'), 'utf8'));
      const file = buildSchema(await readFile('schema/schema.graphql', 'utf8'));
      expect(printSchema(lexicographicSortSchema(fetched))).toBe(printSchema(lexicographicSortSchema(file)));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('an owner publishes the example as app web 1.0.0; signed in by a link, it prints its dashboard; 0.9.0 is refused', async () => {
    const email = `web-${Date.now()}@example.com`;
    const signedUp = await post(url, {
      documentId: gatewayHash('signUp'),
      variables: { input: { tenantName: 'Web Example', owner: { email, name: 'Ann' } } },
    });
    const { session, tenant } = signedUp.signUp as { session: { accessToken: string }; tenant: { id: string } };

    const published = await node(
      'src/cli/documents-publish.ts',
      ['--app', 'web', '--version', '1.0.0', `${EXAMPLE}/src/gql/persisted-documents.json`],
      {
        env: { FLEETGATE_URL: url, FLEETGATE_TOKEN: session.accessToken },
      },
    );
    expect(published.stdout).toBe('web 1.0.0: 2 operations published\n');

    // An operator mints the owner a one-time sign-in link (operators run arbitrary operations even in production).
    const link = await post(
      url,
      {
        query: 'mutation ($t: ID!, $e: String!) { createOwnerSignInLink(tenantId: $t, email: $e) { token } }',
        variables: { t: tenant.id, e: email },
      },
      await gw.operator.token(),
    );
    const signInToken = (link.createOwnerSignInLink as { token: string }).token;

    const example = await node('src/main.ts', [], { cwd: EXAMPLE, env: { FLEETGATE_URL: url, FLEETGATE_SIGN_IN_TOKEN: signInToken } });
    expect(JSON.parse(example.stdout)).toEqual({
      app: { name: 'web', version: '1.0.0' },
      dashboard: { me: { name: 'Ann', role: 'OWNER' }, tenant: { name: 'Web Example', agentCount: 0 }, agents: { edges: [] } },
    });
    expect(example.stdout).not.toContain(session.accessToken);

    // A build that names a version nobody published runs nothing.
    await expect(
      node('src/main.ts', [], {
        cwd: EXAMPLE,
        env: { FLEETGATE_URL: url, FLEETGATE_TOKEN: session.accessToken, WEB_CLIENT_VERSION: '0.9.0' },
      }),
    ).rejects.toThrow(/PERSISTED_QUERY_NOT_IN_LIST/);
  });
});
