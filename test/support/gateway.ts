import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { ResultOf, TypedDocumentNode, VariablesOf } from '@graphql-typed-document-node/core';
import type { MikroORM } from '@mikro-orm/postgresql';
import { print } from 'graphql';
import { openKeyring } from '../../src/auth/keyring.ts';
import { TokenIssuer } from '../../src/auth/tokens.ts';
import { appUrlFor } from '../../src/db/database-urls.ts';
import { openOrm } from '../../src/db/orm.ts';
import { createServer } from '../../src/server.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { createTestDatabase, urlForDatabase } from './database.ts';
import { createSeed } from './seed.ts';

export interface GraphQLResponse<T> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: string[]; extensions?: { code?: string } & Record<string, unknown> }[];
}

/** Runs one typed document through the gateway, optionally with a bearer token. */
// biome-ignore lint/suspicious/noExplicitAny: any document type; its result and variables are inferred.
export type Execute = <D extends TypedDocumentNode<any, any>>(
  document: D,
  variables?: VariablesOf<D>,
  auth?: { token?: string; headers?: Record<string, string> },
) => Promise<GraphQLResponse<ResultOf<D>>>;

export interface GatewayOptions {
  /** Wall removal: build the schema without resolver scopes. */
  disableScopeAuth?: boolean;
  /** Wall removal: the ORM connects with this URL instead of the app role (e.g. a superuser, bypassing RLS). */
  ormUrl?: string;
  poolSize?: number;
}

/**
 * A gateway in-process against its own real database. Logs are captured at trace level so tests
 * can grep them for secrets. `execute` goes through yoga's full HTTP handling (`yoga.fetch`).
 */
export async function startGateway(options: GatewayOptions = {}) {
  const database = await createTestDatabase();
  const keyringDir = await mkdtemp(join(tmpdir(), 'fleetgate-keyring-'));
  const keyring = await openKeyring(keyringDir);
  const logLines: string[] = [];
  const log = createLogger({
    level: 'trace',
    destination: new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    }),
  });
  const appUrl = appUrlFor(database.adminUrl);
  const orm = await openOrm(options.ormUrl ? urlForDatabase(options.ormUrl, database.name) : appUrl, { poolSize: options.poolSize ?? 5 });
  const tokens = new TokenIssuer(keyring, '1h');
  const yoga = createServer({ orm, tokens, auditKey: keyring.auditKey, log, disableScopeAuth: options.disableScopeAuth ?? false });

  const execute: Execute = async (document, variables, auth) => {
    const response = await yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(auth?.token ? { authorization: `Bearer ${auth.token}` } : {}),
        ...auth?.headers,
      },
      body: JSON.stringify({ query: print(document), variables }),
    });
    return { status: response.status, ...((await response.json()) as object) };
  };

  const gateway = {
    yoga,
    orm: orm as MikroORM,
    tokens,
    keyring,
    keyringDir,
    database,
    appUrl,
    log,
    logs: () => logLines.join(''),
    execute,
    seed: createSeed(execute),
    async close() {
      await orm.close(true);
      await database.drop();
      await rm(keyringDir, { recursive: true, force: true });
    },
  };
  return gateway;
}

export type Gateway = Awaited<ReturnType<typeof startGateway>>;

/** Fails with the response's errors in the message, so a failing test says why. */
export function expectNoErrors<T>(response: GraphQLResponse<T>): T {
  if (response.errors?.length || !response.data) {
    throw new Error(`expected no errors, got ${response.status}: ${JSON.stringify(response.errors)}`);
  }
  return response.data;
}

/** The error codes of a response, in order. */
export function errorCodes(response: GraphQLResponse<unknown>): (string | undefined)[] {
  return (response.errors ?? []).map((error) => error.extensions?.code);
}
