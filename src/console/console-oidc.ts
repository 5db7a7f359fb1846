import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConsoleSignInWithIdTokenDocument } from '../../console/src/gql/graphql.ts';
import type { Regions } from '../db/regions.ts';
import type { IssuerKeys } from '../modules/oidc/issuer-keys.ts';
import type { Logger } from '../shared/logger.ts';
import {
  cookie,
  cookieOf,
  deviceLabelOf,
  type GraphqlFetch,
  identityProviderCookie,
  identityProviderOf,
  isSecure,
  json,
  maxAgeOf,
  refusal,
  run,
  type TenantChoice,
} from './console-session.ts';

/** Where the browser starts and ends a sign-in at the tenant's identity provider; the flow cookie's Path. */
export const OIDC_PATH = '/console/oidc';

/**
 * The flow in flight: state, nonce, PKCE verifier, issuer and client id, for ten minutes. HttpOnly:
 * the page's script never sees the verifier. SameSite=Lax, not Strict: the identity provider sends
 * the browser back with a cross-site top-level GET, on which only a Lax cookie travels.
 */
const FLOW_COOKIE = 'fleetgate_console_oidc';
const FLOW_TTL_SECONDS = 600;

/**
 * The tenants a person several tenants admit may choose from, after a sign-in that ended in
 * OIDC_TENANT_REQUIRED: the issuer, the client id and the gateway's `choices` (ids and names of the
 * tenants where the person is an active member), for ten minutes. No credential: the ID token is
 * not kept (choosing is a fresh sign-in, see handleOidc). HttpOnly, SameSite=Strict, Path=/console/oidc.
 */
const CHOICES_COOKIE = 'fleetgate_console_oidc_choices';
/** Well under the 4,096 bytes a browser keeps per cookie. */
const CHOICES_COOKIE_MAX = 3_800;
/** A tenant's global id as the page hands it back (base64 of `Tenant:<uuid>`). */
const TENANT_ID = /^[A-Za-z0-9+/]{1,200}={0,2}$/;
const FETCH_TIMEOUT_MS = 5_000;

export interface ConsoleOidcOptions {
  /** The gateway's verifier of ID tokens: the console accepts the same issuers it does (https; loopback http in development). */
  keys: IssuerKeys;
  /** Where the issuers tenants and the platform registered are looked up. */
  regions: Regions;
  log: Logger;
}

interface Flow {
  state: string;
  nonce: string;
  verifier: string;
  issuer: string;
  clientId: string;
  /** The tenant the person chose (a global id), when several admit it; else absent. */
  tenant?: string;
}

interface Choices {
  issuer: string;
  clientId: string;
  tenants: TenantChoice[];
}

/**
 * Sign-in through a tenant's (or the platform's) identity provider, as a backend for the page:
 * the authorization code flow with PKCE, where the gateway holds the verifier and redeems the code,
 * so neither the code's verifier nor the ID token nor the refresh token ever reaches the page's
 * script or its storage (the page's CSP also lets it talk only to this origin).
 * - `GET /console/oidc/start?issuer=…&client_id=…` checks that some tenant or the platform
 *   registered that issuer and client id (no redirect to, or fetch of, an arbitrary URL), reads the
 *   issuer's discovery document and sends the browser to its authorization endpoint;
 * - `GET /console/oidc/callback?code=…&state=…` checks the state against the flow cookie, trades
 *   the code for the ID token at the issuer's token endpoint (public client: `code_verifier`, no
 *   secret), runs `signIn` through this gateway's own pipeline with the flow's nonce (so the usual
 *   verification, admission rules, rate limits and audit apply), sets the same HttpOnly refresh
 *   cookie as a link's sign-in and sends the browser to /console. Failures land on
 *   `/console#oidc_error=<code>`, which the page shows in words.
 *
 * A person whom several tenants admit (the same issuer and client id registered by several tenants,
 * or the platform's connection and an email added in several standard tenants):
 * - the callback's `signIn` answers OIDC_TENANT_REQUIRED with the tenants where the person is an
 *   active member; the gateway keeps their ids and names in the choices cookie and sends the browser
 *   to `/console#oidc_choose`; the page reads them with `POST /console/oidc/choices` and lists them;
 * - choosing is a fresh sign-in: `GET /console/oidc/start?…&tenant=<id>` binds the chosen tenant into
 *   the new flow's cookie and its callback runs `signIn` naming it. Whether the person may enter that
 *   tenant is decided there, by the gateway's own rules, never by the list: a tenant the person does
 *   not belong to and one that does not exist come back alike, as OIDC_UNKNOWN_SUBJECT;
 * - after such a sign-in the identity provider cookie (console-session.ts) lets the page offer
 *   "Switch tenant": the page ends its session, then `GET /console/oidc/switch` starts a fresh
 *   sign-in at the same provider, which ends at the chooser again.
 * Why a fresh sign-in rather than switching in place: a session belongs to exactly one tenant, and
 * keeping the ID token (or any credential good for several tenants) around for later would put a
 * key to all of them in the browser for as long as it lived. Each switch asks the identity provider
 * again (the person's account still enabled, its policies applied) and the gateway again (still an
 * active member); an ID token already used in the first step is never taken for the second.
 */
export async function handleOidc(
  request: Request,
  url: URL,
  serverContext: object,
  graphql: GraphqlFetch,
  options: ConsoleOidcOptions,
): Promise<Response> {
  const secure = isSecure(request, url);
  if (url.pathname === `${OIDC_PATH}/choices`) return choices(request, secure);
  if (request.method !== 'GET') return new Response('Method not allowed', { status: 405 });
  const redirectUri = `${secure ? 'https:' : url.protocol}//${url.host}${OIDC_PATH}/callback`;
  if (url.pathname === `${OIDC_PATH}/start`) {
    const { searchParams } = url;
    return start(
      searchParams.get('issuer') ?? '',
      searchParams.get('client_id') ?? '',
      searchParams.get('tenant'),
      redirectUri,
      secure,
      options,
    );
  }
  if (url.pathname === `${OIDC_PATH}/switch`) {
    const provider = identityProviderOf(request);
    if (!provider) return back('UNAUTHENTICATED', secure);
    return start(provider.issuer, provider.clientId, null, redirectUri, secure, options);
  }
  if (url.pathname === `${OIDC_PATH}/callback`) return callback(request, url, redirectUri, secure, serverContext, graphql, options);
  return new Response('Not found', { status: 404 });
}

async function start(
  issuer: string,
  clientId: string,
  tenant: string | null,
  redirectUri: string,
  secure: boolean,
  options: ConsoleOidcOptions,
): Promise<Response> {
  // One answer for a malformed, unknown and unreachable issuer alike.
  if (clientId === '' || clientId.length > 200 || !options.keys.acceptsIssuer(issuer) || !(await registered(issuer, clientId, options))) {
    return back('OIDC_ISSUER_UNKNOWN', secure);
  }
  // A malformed tenant id is no tenant's: the same answer as a tenant that does not admit the person.
  if (tenant !== null && !TENANT_ID.test(tenant)) return back('OIDC_UNKNOWN_SUBJECT', secure);
  const endpoints = await discover(issuer, options);
  if (!endpoints) return back('OIDC_ISSUER_UNKNOWN', secure);
  const flow: Flow = { state: random(), nonce: random(), verifier: random(), issuer, clientId, ...(tenant ? { tenant } : {}) };
  const authorize = new URL(endpoints.authorization);
  for (const [name, value] of Object.entries({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: 'openid email profile',
    state: flow.state,
    nonce: flow.nonce,
    code_challenge: createHash('sha256').update(flow.verifier).digest('base64url'),
    code_challenge_method: 'S256',
  })) {
    authorize.searchParams.set(name, value);
  }
  return redirect(authorize.href, flowCookie(Buffer.from(JSON.stringify(flow)).toString('base64url'), FLOW_TTL_SECONDS, secure));
}

async function callback(
  request: Request,
  url: URL,
  redirectUri: string,
  secure: boolean,
  serverContext: object,
  graphql: GraphqlFetch,
  options: ConsoleOidcOptions,
): Promise<Response> {
  const flow = flowOf(request);
  const state = url.searchParams.get('state') ?? '';
  const code = url.searchParams.get('code');
  // The identity provider said no (the person cancelled, or is not allowed to use the app).
  if (url.searchParams.has('error')) return back('OIDC_REFUSED', secure);
  // A callback this browser did not start (login CSRF) or a stale one: refuse before anything is fetched.
  if (!flow || !code || !sameText(flow.state, state) || !options.keys.acceptsIssuer(flow.issuer)) return back('UNAUTHENTICATED', secure);
  const endpoints = await discover(flow.issuer, options);
  if (!endpoints) return back('OIDC_ISSUER_UNKNOWN', secure);
  const idToken = await redeemCode(endpoints.token, flow, code, redirectUri, options);
  if (!idToken) return back('UNAUTHENTICATED', secure);
  const outcome = await run(graphql, request, url, serverContext, ConsoleSignInWithIdTokenDocument, {
    input: { idToken, nonce: flow.nonce, deviceLabel: deviceLabelOf(request), tenant: flow.tenant ?? null },
  });
  if ('errors' in outcome) {
    const [error] = outcome.errors;
    const offered = error?.extensions.code === 'OIDC_TENANT_REQUIRED' ? error.extensions.choices : undefined;
    if (offered?.length) {
      const choices = choicesCookie({ issuer: flow.issuer, clientId: flow.clientId, tenants: offered }, secure);
      if (choices) return redirect('/console#oidc_choose', flowCookie('', 0, secure), choices);
    }
    return back(error?.extensions.code ?? 'UNAUTHENTICATED', secure);
  }
  const { refreshToken, session } = outcome.payload;
  const maxAge = maxAgeOf(session);
  // Signed in to the tenant it chose: the page may offer to switch (a fresh sign-in at the same provider).
  const provider = flow.tenant ? { issuer: flow.issuer, clientId: flow.clientId } : undefined;
  return redirect(
    '/console',
    flowCookie('', 0, secure),
    choicesCookie(undefined, secure),
    cookie(refreshToken, maxAge, secure),
    identityProviderCookie(provider, maxAge, secure),
  );
}

/**
 * `POST /console/oidc/choices` (with the CSRF header, like the session endpoints): the tenants the
 * person may choose from, as the gateway offered them at the callback, with the issuer and client
 * id to start the chosen sign-in. Only names the gateway already showed this browser; choosing
 * decides nothing (see handleOidc).
 */
function choices(request: Request, secure: boolean): Response {
  if (request.method !== 'POST') return refusal(405, 'BAD_REQUEST', 'Use POST');
  if (!request.headers.has('x-graphql-csrf')) return refusal(403, 'CSRF_HEADER_MISSING', 'Send the x-graphql-csrf header');
  const value = cookieOf(request, CHOICES_COOKIE);
  const offered = value === undefined ? undefined : parseChoices(value);
  if (!offered) return refusal(401, 'UNAUTHENTICATED', 'No tenant choice in progress: sign in again', choicesCookie(undefined, secure));
  return json(200, offered);
}

function parseChoices(value: string): Choices | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Partial<Choices>;
    if (typeof parsed.issuer !== 'string' || typeof parsed.clientId !== 'string' || !Array.isArray(parsed.tenants)) return undefined;
    const tenants = parsed.tenants.filter((each) => typeof each?.id === 'string' && typeof each?.name === 'string');
    return { issuer: parsed.issuer, clientId: parsed.clientId, tenants: tenants.map(({ id, name }) => ({ id, name })) };
  } catch {
    return undefined;
  }
}

/** Sets the choices cookie, or forgets it (undefined); undefined when the choices do not fit in a cookie. */
function choicesCookie(value: Choices | undefined, secure: boolean): string;
function choicesCookie(value: Choices, secure: boolean): string | undefined;
function choicesCookie(value: Choices | undefined, secure: boolean): string | undefined {
  const encoded = value ? Buffer.from(JSON.stringify(value)).toString('base64url') : '';
  if (encoded.length > CHOICES_COOKIE_MAX) return undefined;
  const maxAge = value ? FLOW_TTL_SECONDS : 0;
  return `${CHOICES_COOKIE}=${encoded}; Path=${OIDC_PATH}; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** Whether a tenant (in any region) or the platform registered this issuer with this client id. */
async function registered(issuer: string, clientId: string, options: ConsoleOidcOptions): Promise<boolean> {
  const args = [issuer, JSON.stringify([clientId])];
  for (const region of options.regions.all) {
    const em = region.orm.em.fork();
    const [row] = await em.execute<{ found: boolean }[]>(
      `select exists (select 1 from oidc_connections_of(?, array(select jsonb_array_elements_text(?::jsonb))))
           or exists (select 1 from platform_oidc_connections_of(?, array(select jsonb_array_elements_text(?::jsonb)))) as found`,
      [...args, ...args],
    );
    if (row?.found) return true;
  }
  return false;
}

/** The issuer's authorization and token endpoints from its discovery document, which must name the issuer exactly. */
async function discover(issuer: string, options: ConsoleOidcOptions): Promise<{ authorization: string; token: string } | undefined> {
  try {
    const response = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, {
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      redirect: 'error',
    });
    if (!response.ok) throw new Error(`discovery answered ${response.status}`);
    const document = (await response.json()) as { issuer?: unknown; authorization_endpoint?: unknown; token_endpoint?: unknown };
    const { authorization_endpoint: authorization, token_endpoint: token } = document;
    if (document.issuer !== issuer || typeof authorization !== 'string' || typeof token !== 'string') throw new Error('discovery mismatch');
    if (!options.keys.acceptsIssuer(new URL(authorization).origin) || !options.keys.acceptsIssuer(new URL(token).origin)) {
      throw new Error('endpoint not acceptable');
    }
    return { authorization, token };
  } catch (error) {
    options.log.info({ issuer, reason: error instanceof Error ? error.message : 'failed' }, 'console OIDC discovery failed');
    return undefined;
  }
}

/** The ID token for the code, from the token endpoint (a public client proves itself with the PKCE verifier). */
async function redeemCode(tokenEndpoint: string, flow: Flow, code: string, redirectUri: string, options: ConsoleOidcOptions) {
  try {
    const response = await fetch(tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
        client_id: flow.clientId,
        code_verifier: flow.verifier,
      }),
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      redirect: 'error',
    });
    const body = (await response.json().catch(() => ({}))) as { id_token?: unknown; error?: unknown };
    if (response.ok && typeof body.id_token === 'string') return body.id_token;
    // The issuer's error code only: never the code, the verifier or anything the issuer echoed.
    options.log.info({ issuer: flow.issuer, status: response.status, error: String(body.error ?? '') }, 'console OIDC code refused');
  } catch {
    options.log.info({ issuer: flow.issuer }, 'console OIDC token endpoint unreachable');
  }
  return undefined;
}

function flowOf(request: Request): Flow | undefined {
  for (const part of (request.headers.get('cookie') ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name !== FLOW_COOKIE || value.join('=') === '') continue;
    try {
      const flow = JSON.parse(Buffer.from(value.join('='), 'base64url').toString('utf8')) as Partial<Flow>;
      if (
        [flow.state, flow.nonce, flow.verifier, flow.issuer, flow.clientId].every((each) => typeof each === 'string') &&
        (flow.tenant === undefined || (typeof flow.tenant === 'string' && TENANT_ID.test(flow.tenant)))
      )
        return flow as Flow;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function flowCookie(value: string, maxAge: number, secure: boolean): string {
  return `${FLOW_COOKIE}=${value}; Path=${OIDC_PATH}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}

function random(): string {
  return randomBytes(32).toString('base64url');
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Back to the console with a code the page puts in words; the flow and choices cookies are forgotten. */
function back(code: string, secure: boolean): Response {
  return redirect(`/console#oidc_error=${encodeURIComponent(code)}`, flowCookie('', 0, secure), choicesCookie(undefined, secure));
}

function redirect(location: string, ...setCookies: string[]): Response {
  const headers = new Headers({ location, 'cache-control': 'no-store' });
  for (const setCookie of setCookies) headers.append('set-cookie', setCookie);
  return new Response(null, { status: 303, headers });
}
