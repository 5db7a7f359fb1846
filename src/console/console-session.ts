import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { ConsoleRedeemSignInLinkDocument, ConsoleRefreshSessionDocument } from '../../console/src/gql/graphql.ts';
import type { ErrorCode } from '../shared/errors.ts';
import { CONSOLE_APP } from './console-app.ts';

/** Where the console trades a sign-in link or its cookie for an access token; the cookie's Path. */
export const SESSION_PATH = '/console/session';

/**
 * The refresh token's cookie. HttpOnly: no script in the page reads it, so an XSS can use the
 * session while the page is open but cannot carry the refresh token away. SameSite=Strict and
 * Path=/console/session: the browser sends it only on same-site requests to these endpoints,
 * never to /graphql and never from another site.
 */
const COOKIE = 'fleetgate_console_refresh';

/**
 * The identity provider (issuer and client id, both public) a person whom several tenants admit
 * signed in through, so the console can offer "Switch tenant" (a fresh sign-in there, see
 * console-oidc.ts). No credential: HttpOnly all the same, SameSite=Strict, Path=/console (the
 * session endpoints say whether it is there; /console/oidc/switch reads it), as long as the session.
 */
const IDP_COOKIE = 'fleetgate_console_idp';

/** Runs a request through this gateway's own GraphQL pipeline (yoga.fetch): trusted documents, rate limits, audit. */
export type GraphqlFetch = (request: Request, serverContext: object) => Promise<Response> | Response;

/** What the page receives for a session: the access token (kept in memory) and when the session ends. Never the refresh token. */
interface SessionAnswer {
  accessToken: string;
  session: { id: string; expiresAt: string };
  /** Signed in through an identity provider as a person several tenants admit: the console offers "Switch tenant". */
  canSwitchTenant: boolean;
}

export interface SessionPayload extends SessionAnswer {
  refreshToken: string;
}

/**
 * The session endpoints of the console, all POST:
 * - `/console/session` `{ "link": "fgl_…" }`: redeems a one-time sign-in link;
 * - `/console/session/refresh`: trades the cookie's refresh token for the next one;
 * - `/console/session/end`: forgets the cookie (the page revokes the session first, with its access token).
 * The first two answer `{ accessToken, session, canSwitchTenant }` and set the cookie. The refresh
 * token travels only in Set-Cookie and Cookie headers: it is in no body, no log and no error.
 * A link's session forgets the identity provider cookie (a link opens one tenant's session, nothing
 * to switch); ending the session forgets both.
 */
export async function handleSession(request: Request, url: URL, serverContext: object, graphql: GraphqlFetch): Promise<Response> {
  if (request.method !== 'POST') return refusal(405, 'BAD_REQUEST', 'Use POST');
  // CSRF, as on /graphql: a header no form or simple request can carry, so a cross-site page would
  // need a CORS preflight, which this gateway never grants; SameSite=Strict keeps the cookie off too.
  if (!request.headers.has('x-graphql-csrf')) return refusal(403, 'CSRF_HEADER_MISSING', 'Send the x-graphql-csrf header');
  const secure = isSecure(request, url);
  switch (url.pathname) {
    case SESSION_PATH: {
      const link = await linkOf(request);
      if (link === undefined) return refusal(400, 'BAD_USER_INPUT', 'Send { "link": "fgl_…" }');
      const variables = { token: link, deviceLabel: deviceLabelOf(request) };
      const response = answer(await run(graphql, request, url, serverContext, ConsoleRedeemSignInLinkDocument, variables), secure);
      if (identityProviderOf(request)) response.headers.append('set-cookie', identityProviderCookie(undefined, 0, secure));
      return response;
    }
    case `${SESSION_PATH}/refresh`: {
      const refreshToken = cookieOf(request, COOKIE);
      if (refreshToken === undefined) return refusal(401, 'UNAUTHENTICATED', 'No console session', clearCookie(secure));
      const outcome = await run(graphql, request, url, serverContext, ConsoleRefreshSessionDocument, { refreshToken });
      return answer(outcome, secure, identityProviderOf(request) !== undefined);
    }
    case `${SESSION_PATH}/end`:
      return json(200, { ended: true }, [clearCookie(secure), identityProviderCookie(undefined, 0, secure)]);
    default:
      return refusal(404, 'NOT_FOUND', 'Not found');
  }
}

/** A tenant the person may choose (OIDC_TENANT_REQUIRED's `choices`: only tenants where it is an active member). */
export interface TenantChoice {
  id: string;
  name: string;
}

export type Outcome =
  | { payload: SessionPayload }
  | { status: number; errors: { message: string; extensions: { code: string; choices?: TenantChoice[] } }[] };

/** One of the console's session operations by its hash, as the console app, from the caller's address. */
export async function run<V>(
  graphql: GraphqlFetch,
  request: Request,
  url: URL,
  serverContext: object,
  document: TypedDocumentNode<unknown, V>,
  variables: V,
): Promise<Outcome> {
  const documentId = (document as { __meta__?: { hash?: string } }).__meta__?.hash;
  const headers = new Headers({ 'content-type': 'application/json', 'x-graphql-client-name': CONSOLE_APP, 'x-graphql-csrf': '1' });
  for (const name of ['user-agent', 'x-request-id']) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  const response = await graphql(
    new Request(new URL('/graphql', url), { method: 'POST', headers, body: JSON.stringify({ documentId, variables }) }),
    serverContext,
  );
  const body = (await response.json().catch(() => ({}))) as {
    data?: Record<string, SessionPayload | null> | null;
    errors?: { message?: string; extensions?: { code?: string; choices?: unknown } }[];
  };
  const payload = body.data ? Object.values(body.data)[0] : undefined;
  if (payload && !body.errors?.length) return { payload };
  // Only the message, code and tenant choices of each error: the gateway's own words, which never carry a token.
  const errors = (body.errors ?? []).map((error) => {
    const choices = choicesOf(error.extensions?.choices);
    return {
      message: String(error.message ?? 'Sign-in failed'),
      extensions: { code: String(error.extensions?.code ?? 'INTERNAL_SERVER_ERROR'), ...(choices ? { choices } : {}) },
    };
  });
  return { status: response.status === 200 ? 401 : response.status, errors };
}

/**
 * A session's answer sets the cookie. A refusal forgets it only when the refresh token is dead
 * (UNAUTHENTICATED: used, expired, revoked, unknown); a frozen tenant, a rate limit or a busy
 * gateway keeps it, so the member resumes once that passes.
 */
export function answer(outcome: Outcome, secure: boolean, canSwitchTenant = false): Response {
  if ('errors' in outcome) {
    const dead = outcome.errors.some((error) => error.extensions.code === 'UNAUTHENTICATED');
    const errors = outcome.errors.map(({ message, extensions }) => ({ message, extensions: { code: extensions.code } }));
    // The identity provider cookie stays: "Switch tenant" ends the session first, and then needs it.
    return json(outcome.status, { errors }, dead ? [clearCookie(secure)] : undefined);
  }
  const { refreshToken, accessToken, session } = outcome.payload;
  const body: SessionAnswer = { accessToken, session: { id: session.id, expiresAt: session.expiresAt }, canSwitchTenant };
  return json(200, body, [cookie(refreshToken, maxAgeOf(session), secure)]);
}

/** Seconds until the session ends: how long its cookies live. */
export function maxAgeOf(session: { expiresAt: string }): number {
  return Math.max(0, Math.floor((Date.parse(session.expiresAt) - Date.now()) / 1000));
}

export function cookie(value: string, maxAge: number, secure: boolean): string {
  return `${COOKIE}=${value}; Path=${SESSION_PATH}; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** Sets (or, with no provider, forgets) the identity provider cookie (IDP_COOKIE). */
export function identityProviderCookie(provider: IdentityProvider | undefined, maxAge: number, secure: boolean): string {
  const value = provider ? Buffer.from(JSON.stringify(provider)).toString('base64url') : '';
  return `${IDP_COOKIE}=${value}; Path=/console; Max-Age=${provider ? maxAge : 0}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

export interface IdentityProvider {
  issuer: string;
  clientId: string;
}

/** The identity provider cookie's issuer and client id, if the request carries a well-formed one. */
export function identityProviderOf(request: Request): IdentityProvider | undefined {
  const value = cookieOf(request, IDP_COOKIE);
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Partial<IdentityProvider>;
    return typeof parsed.issuer === 'string' && typeof parsed.clientId === 'string'
      ? { issuer: parsed.issuer, clientId: parsed.clientId }
      : undefined;
  } catch {
    return undefined;
  }
}

/** OIDC_TENANT_REQUIRED's choices, kept only when they are what the gateway sends: ids and names, as strings. */
function choicesOf(value: unknown): TenantChoice[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const choices = value.filter(
    (each): each is TenantChoice => typeof each?.id === 'string' && typeof each?.name === 'string' && each.id.length <= 200,
  );
  return choices.map(({ id, name }) => ({ id, name }));
}

function clearCookie(secure: boolean): string {
  return cookie('', 0, secure);
}

/** The value of the request's cookie `name`, if set and not empty. */
export function cookieOf(request: Request, name: string): string | undefined {
  for (const part of (request.headers.get('cookie') ?? '').split(';')) {
    const [each, ...value] = part.trim().split('=');
    if (each === name && value.length > 0 && value.join('=') !== '') return value.join('=');
  }
  return undefined;
}

async function linkOf(request: Request): Promise<string | undefined> {
  if (!(request.headers.get('content-type') ?? '').startsWith('application/json')) return undefined;
  const text = await smallBody(request, 1024); // a link is about 60 characters
  if (text === undefined) return undefined;
  const body = (() => {
    try {
      return JSON.parse(text) as { link?: unknown } | null;
    } catch {
      return null;
    }
  })();
  return typeof body?.link === 'string' && body.link.length <= 200 ? body.link : undefined;
}

/** The body as text, or undefined past `limit` bytes: read no further than that, whatever Content-Length says or omits. */
async function smallBody(request: Request, limit: number): Promise<string | undefined> {
  const reader = request.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    size += chunk.value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(chunk.value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The device a member sees in its sessions list: the console and a hint of the browser. */
export function deviceLabelOf(request: Request): string {
  const agent = request.headers.get('user-agent') ?? '';
  const browser = /(Firefox|Edg|Chrome|Chromium|Safari)\/[\d]+/.exec(agent)?.[0] ?? 'browser';
  return `console (${browser})`;
}

/** Secure cookies behind TLS (directly or at a proxy that says so); plain http on loopback in development. */
export function isSecure(request: Request, url: URL): boolean {
  return url.protocol === 'https:' || request.headers.get('x-forwarded-proto') === 'https';
}

export function refusal(status: number, code: ErrorCode, message: string, setCookie?: string): Response {
  return json(status, { errors: [{ message, extensions: { code } }] }, setCookie ? [setCookie] : undefined);
}

export function json(status: number, body: unknown, setCookies: string[] = []): Response {
  const headers = new Headers({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  for (const setCookie of setCookies) headers.append('set-cookie', setCookie);
  return new Response(JSON.stringify(body), { status, headers });
}
