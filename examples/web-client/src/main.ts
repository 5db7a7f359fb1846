/**
 * A typed web client of Fleetgate in one file, run with Node 24 (its built-in fetch; no browser):
 *
 *   FLEETGATE_URL=http://127.0.0.1:4000/graphql FLEETGATE_SIGN_IN_TOKEN=… node --import tsx src/main.ts
 *
 * It signs in with a one-time sign-in link (or uses FLEETGATE_TOKEN, an access token, as it is),
 * runs the published `Dashboard` operation by hash as the app `web`, and prints the result as JSON.
 * Tokens go only into the Authorization header; nothing here prints one.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { Dashboard, RedeemSignInLink } from './operations.ts';

const url = process.env.FLEETGATE_URL ?? 'http://127.0.0.1:4000/graphql';
/** The app and version this build was published as (`npm run documents:publish -- --app web --version 1.0.0 …`). */
const app = { name: 'web', version: process.env.WEB_CLIENT_VERSION ?? '1.0.0' };

/** A GraphQL error as the gateway answers it: branch on `extensions.code`, never on the message. */
class GatewayError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/**
 * Runs a generated document by its hash (`__meta__.hash`, the persisted-documents output), never by
 * its text: a production gateway runs only published documents. `app` names the client app whose
 * published version holds the hash; without it the gateway's own operations are looked up.
 */
async function run<Result, Variables>(
  document: TypedDocumentNode<Result, Variables>,
  variables: Variables,
  options: { token?: string; app?: { name: string; version: string } } = {},
): Promise<Result> {
  const hash = (document as { __meta__?: { hash?: string } }).__meta__?.hash;
  if (!hash) throw new Error('This document has no hash: generate the client with persistedDocuments');
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.app ? { 'x-graphql-client-name': options.app.name, 'x-graphql-client-version': options.app.version } : {}),
    },
    body: JSON.stringify({ documentId: hash, variables }),
  });
  const body = (await response.json()) as { data?: Result | null; errors?: { message: string; extensions?: { code?: string } }[] };
  const [error] = body.errors ?? [];
  if (error) throw new GatewayError(error.extensions?.code ?? `HTTP_${response.status}`, error.message);
  if (!body.data) throw new GatewayError(`HTTP_${response.status}`, 'no data in the answer');
  return body.data;
}

/** An access token: the one given, or a session opened with a one-time sign-in link. */
async function signIn(): Promise<string> {
  if (process.env.FLEETGATE_TOKEN) return process.env.FLEETGATE_TOKEN;
  const token = process.env.FLEETGATE_SIGN_IN_TOKEN;
  if (!token) throw new Error('Set FLEETGATE_SIGN_IN_TOKEN (a sign-in link’s token) or FLEETGATE_TOKEN (an access token)');
  const { redeemSignInLink } = await run(RedeemSignInLink, { token, deviceLabel: 'web-client example' });
  return redeemSignInLink.accessToken;
}

const token = await signIn();
const dashboard = await run(Dashboard, { first: 5 }, { token, app });
// Typed: `dashboard.me.role` is 'OWNER' | 'ADMIN' | 'MEMBER' | 'VIEWER', `agents.edges[n].node.status` an AgentStatus.
process.stdout.write(`${JSON.stringify({ app, dashboard })}\n`);
