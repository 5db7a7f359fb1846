import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { ApiError } from './errors.ts';
import {
  ConsoleAgentsChangedDocument,
  ConsoleAgentsDocument,
  type ConsoleAgentsQuery,
  ConsoleEndSessionDocument,
  ConsoleTenantStatusDocument,
} from './gql/graphql.ts';

/**
 * Who the console acts as. The access token lives only here, in memory: a reload forgets it and
 * trades the HttpOnly cookie for a new one (resumeSession); nothing is ever put in localStorage.
 */
type Credential =
  | { kind: 'member'; accessToken: string; sessionId: string; canSwitchTenant: boolean }
  | { kind: 'operator'; token: string };

let credential: Credential | undefined;
const listeners = new Set<() => void>();

export function signedInAs(): Credential['kind'] | undefined {
  return credential?.kind;
}

/** The id of this tab's own session, so the sessions list can mark it. */
export function currentSessionId(): string | undefined {
  return credential?.kind === 'member' ? credential.sessionId : undefined;
}

/** Signed in through an identity provider as a person several tenants admit: "Switch tenant" is offered. */
export function canSwitchTenant(): boolean {
  return credential?.kind === 'member' && credential.canSwitchTenant;
}

/** Called whenever the credential or the tenant's frozen state changes. */
export function onChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function changed() {
  for (const listener of listeners) listener();
}

/** The tenant's freeze as the last request found it: refused with TENANT_FROZEN (and the operator's reason), cleared by the next success. */
let frozen: { reason: string | null } | undefined;

export function tenantFrozen(): { reason: string | null } | undefined {
  return frozen;
}

function setFrozen(value: { reason: string | null } | undefined) {
  if (frozen?.reason === value?.reason && (frozen === undefined) === (value === undefined)) return;
  frozen = value;
  changed();
}

/** Redeems a one-time sign-in link: the gateway answers the access token and keeps the refresh token in its cookie. */
export async function signInWithLink(link: string): Promise<void> {
  await openSession('/console/session', { link });
}

/**
 * Resumes the session of the cookie, if any. Refreshes are serialised across the console's tabs
 * (Web Locks): two tabs refreshing with the same refresh token would look like a stolen token
 * being reused, and the gateway would end the session.
 */
export async function resumeSession(): Promise<boolean> {
  return (await refresh()) === 'resumed';
}

/** 'ended': the gateway refused the refresh token itself (revoked, reused, expired, the member gone). */
async function refresh(): Promise<'resumed' | 'ended' | 'failed'> {
  try {
    await withRefreshLock(() => openSession('/console/session/refresh'));
    return 'resumed';
  } catch (error) {
    if (error instanceof ApiError && error.code === 'TENANT_FROZEN') setFrozen({ reason: null });
    return error instanceof ApiError && error.code === 'UNAUTHENTICATED' ? 'ended' : 'failed';
  }
}

/** An operator pastes its token: kept in memory for this tab only, gone on reload. */
export function signInAsOperator(token: string) {
  credential = { kind: 'operator', token: token.trim() };
  changed();
}

export async function signOut(): Promise<void> {
  if (credential?.kind === 'member') await request(ConsoleEndSessionDocument, { id: credential.sessionId }).catch(() => undefined);
  await post('/console/session/end').catch(() => undefined);
  credential = undefined;
  setFrozen(undefined);
  changed();
}

async function openSession(path: string, body?: object): Promise<void> {
  const answer = (await post(path, body)) as { accessToken: string; session: { id: string }; canSwitchTenant?: boolean };
  credential = {
    kind: 'member',
    accessToken: answer.accessToken,
    sessionId: answer.session.id,
    canSwitchTenant: answer.canSwitchTenant === true,
  };
  changed();
}

/** A tenant the person may choose after signing in through its identity provider: only tenants where it is an active member. */
export interface TenantChoice {
  id: string;
  name: string;
}

/** The tenants offered after a sign-in several tenants admit (kept by the gateway in an HttpOnly cookie for ten minutes). */
export async function tenantChoices(): Promise<{ issuer: string; clientId: string; tenants: TenantChoice[] }> {
  return (await post('/console/oidc/choices')) as { issuer: string; clientId: string; tenants: TenantChoice[] };
}

/**
 * Signs in to the chosen tenant: a fresh sign-in at the identity provider with the tenant bound into
 * the flow; the gateway decides there whether the person may enter it (src/console/console-oidc.ts).
 */
export function chooseTenant(choices: { issuer: string; clientId: string }, tenant: string) {
  location.assign(`/console/oidc/start?${new URLSearchParams({ issuer: choices.issuer, client_id: choices.clientId, tenant })}`);
}

/**
 * Switches tenant: ends this tenant's session first (a session belongs to one tenant), then signs in
 * afresh at the same identity provider, which ends at the tenant chooser.
 */
export async function switchTenant(): Promise<void> {
  if (credential?.kind === 'member') await request(ConsoleEndSessionDocument, { id: credential.sessionId }).catch(() => undefined);
  credential = undefined;
  location.assign('/console/oidc/switch');
}

async function withRefreshLock<T>(work: () => Promise<T>): Promise<T> {
  return navigator.locks ? navigator.locks.request('fleetgate-console-refresh', work) : work();
}

async function post(path: string, body?: object): Promise<unknown> {
  const response = await fetchOrNetworkError(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-graphql-csrf': '1' },
    body: JSON.stringify(body ?? {}),
    credentials: 'same-origin',
  });
  const answer = (await response.json().catch(() => ({}))) as { errors?: { message: string; extensions?: { code?: string } }[] };
  const error = answer.errors?.[0];
  if (error || !response.ok) throw new ApiError(error?.extensions?.code ?? 'INTERNAL_SERVER_ERROR', error?.message);
  return answer;
}

async function fetchOrNetworkError(path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(path, init);
  } catch {
    throw new ApiError('NETWORK');
  }
}

/**
 * Runs one of the console's published operations by its hash (the page carries no GraphQL text),
 * as the platform app `console`. An expired access token is refreshed once and the call retried.
 * Throws ApiError with the first error's code.
 */
export async function request<R, V>(document: TypedDocumentNode<R, V>, variables: V, retried = false): Promise<R> {
  const documentId = (document as unknown as { __meta__: { hash: string } }).__meta__.hash;
  const token = credential?.kind === 'member' ? credential.accessToken : credential?.token;
  const response = await fetchOrNetworkError('/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      'x-graphql-client-name': 'console',
      'x-graphql-csrf': '1',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ documentId, variables }),
    credentials: 'omit',
  });
  const body = (await response.json().catch(() => ({}))) as {
    data?: R | null;
    errors?: { message: string; extensions?: { code?: string; reason?: string | null; field?: string } }[];
  };
  const error = body.errors?.[0];
  if (!error && body.data) {
    if (credential?.kind === 'member') setFrozen(undefined);
    return body.data;
  }
  const code =
    error?.extensions?.code ?? (response.ok ? 'INTERNAL_SERVER_ERROR' : response.status === 401 ? 'UNAUTHENTICATED' : 'BAD_REQUEST');
  if (code === 'TENANT_FROZEN') setFrozen({ reason: error?.extensions?.reason ?? null });
  if (code === 'UNAUTHENTICATED' && credential?.kind === 'member' && !retried) {
    const outcome = await refresh();
    if (outcome === 'resumed') return request(document, variables, true);
    if (outcome === 'ended') {
      // The session is over (revoked, the member removed or suspended): back to the sign-in screen.
      credential = undefined;
      changed();
    }
  }
  throw new ApiError(code, error?.message, error?.extensions?.field);
}

export type AgentRow = ConsoleAgentsQuery['agents']['edges'][number]['node'];

/**
 * The tenant's agents, live: calls `onAgents` with every new list and `onError` when a read fails,
 * until the returned function is called. The `agentsChanged` subscription says when the list
 * changed (its first event: when it is open, so no change falls between the read and the stream).
 */
export function watchAgents(onAgents: (agents: AgentRow[]) => void, onError: (error: unknown) => void): () => void {
  return readOnChange(ConsoleAgentsDocument, {}, ({ agents }) => onAgents(agents.edges.map((edge) => edge.node)), onError, {
    changes: ConsoleAgentsChangedDocument,
  });
}

/**
 * Reads `document` whenever its answer may have changed instead of on a timer: on every event of the
 * subscription `changes` (its first event says the stream is open, so no change falls between a read
 * and the stream), whenever the console's own state changes (a freeze, an unfreeze: `onChange`), and
 * every `everyMs` for what no stream announces (0: never; then the first read waits for the stream).
 * At most one read at a time, a burst of events costing one more read. Until the returned function
 * is called.
 */
export function readOnChange<R, V, S>(
  document: TypedDocumentNode<R, V>,
  variables: V,
  onData: (data: R) => void,
  onError: (error: unknown) => void,
  { changes, everyMs = 0 }: { changes: TypedDocumentNode<S, Record<string, never>>; everyMs?: number },
): () => void {
  let stopped = false;
  let reading = false;
  let again = false;
  const read = async () => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        const data = await request(document, variables);
        if (!stopped) onData(data);
      } while (again && !stopped);
    } catch (error) {
      if (!stopped) onError(error);
    } finally {
      reading = false;
    }
  };
  const stopStream = live(changes, {}, () => void read(), onError);
  const stopListening = onChange(() => void read());
  let timer: ReturnType<typeof setInterval> | undefined;
  if (everyMs > 0) {
    void read();
    timer = setInterval(() => void read(), everyMs);
  }
  return () => {
    stopped = true;
    clearInterval(timer);
    stopStream();
    stopListening();
  };
}

/**
 * The tenant's status, live (`tenantStatus`): a freeze shows the frozen banner at once (the stream
 * ends with TENANT_FROZEN and the operator's reason), and the banner goes when the reopened stream
 * says ACTIVE. Its refusals need no words of their own: the banner and the screens say them.
 */
export function watchTenantStatus(): () => void {
  return live(
    ConsoleTenantStatusDocument,
    {},
    ({ tenantStatus }) => {
      if (tenantStatus.status === 'ACTIVE') setFrozen(undefined);
      else if (tenantStatus.status === 'FROZEN' && !frozen) setFrozen({ reason: null });
    },
    () => undefined,
  );
}

/**
 * Follows a subscription of the console's over Server-Sent Events (a POST, so it carries the bearer
 * token, the CSRF header and the app's name like every request), calling `onEvent` with each result.
 * When the stream ends (the session's access token expired, a freeze, the gateway's limits, the
 * network) it says why through `onError` when a person should know, and opens it again: at once after
 * a refresh, else after `retryMs`. Until the returned function is called.
 */
export function live<R, V>(
  document: TypedDocumentNode<R, V>,
  variables: V,
  onEvent: (data: R) => void,
  onError: (error: unknown) => void,
  retryMs = 2_000,
): () => void {
  let stopped = false;
  let controller: AbortController | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const documentId = (document as unknown as { __meta__: { hash: string } }).__meta__.hash;
  const open = async (): Promise<void> => {
    controller = new AbortController();
    const token = credential?.kind === 'member' ? credential.accessToken : credential?.token;
    let code: string | undefined;
    try {
      const response = await fetch('/graphql', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          'x-graphql-client-name': 'console',
          'x-graphql-csrf': '1',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ documentId, variables }),
        credentials: 'omit',
        signal: controller.signal,
      });
      // A refusal may come as a stream of one error event (whatever the status) or as a JSON body.
      if ((response.headers.get('content-type') ?? '').includes('text/event-stream') && response.body) {
        code = await readEvents(response.body, (result) => {
          if (result.data) {
            if (credential?.kind === 'member') setFrozen(undefined);
            onEvent(result.data as R);
          }
        });
      } else {
        const body = (await response.json().catch(() => ({}))) as { errors?: { extensions?: { code?: string } }[] };
        code = body.errors?.[0]?.extensions?.code ?? (response.status === 401 ? 'UNAUTHENTICATED' : 'SERVICE_UNAVAILABLE');
      }
    } catch {
      if (stopped) return;
      code = 'NETWORK';
    }
    if (stopped) return;
    if (code === 'TENANT_FROZEN' && !frozen) setFrozen({ reason: null });
    if (code === 'UNAUTHENTICATED' && credential?.kind === 'member') {
      const outcome = await refresh();
      if (outcome === 'resumed') return open();
      if (outcome === 'ended') {
        credential = undefined;
        changed();
        return;
      }
    }
    // Ended by the gateway's own limits (idle, lifetime): reopen quietly; anything else, say it.
    if (code !== undefined && code !== 'SUBSCRIPTION_ENDED') onError(new ApiError(code));
    timer = setTimeout(() => void open(), code === 'SUBSCRIPTION_ENDED' ? 0 : code === undefined ? retryMs / 4 : retryMs);
  };
  void open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    controller?.abort();
  };
}

type SseResult = { data?: unknown; errors?: { extensions?: { code?: string; reason?: string | null } }[] };

/** Reads `next` and `complete` events until the stream ends; answers the code of the error that ended it, if any. */
async function readEvents(body: ReadableStream<Uint8Array>, onResult: (result: SseResult) => void): Promise<string | undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return undefined;
    buffer += decoder.decode(value, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const lines = block.split('\n');
      const event = lines
        .find((line) => line.startsWith('event:'))
        ?.slice(6)
        .trim();
      const data = lines
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trim())
        .join('\n');
      if (event === 'complete') {
        await reader.cancel().catch(() => undefined);
        return undefined;
      }
      if (event !== 'next' || data === '') continue;
      const result = JSON.parse(data) as SseResult;
      const code = result.errors?.[0]?.extensions?.code;
      if (code) {
        await reader.cancel().catch(() => undefined);
        if (code === 'TENANT_FROZEN') setFrozen({ reason: result.errors?.[0]?.extensions?.reason ?? null });
        return code;
      }
      onResult(result);
    }
  }
}

/** Runs `document` now and every `intervalMs` after the previous answer, until the returned function is called. */
export function watch<R, V>(
  document: TypedDocumentNode<R, V>,
  variables: V,
  onData: (data: R) => void,
  onError: (error: unknown) => void,
  intervalMs = 2_000,
): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const poll = async () => {
    try {
      const data = await request(document, variables);
      if (!stopped) onData(data);
    } catch (error) {
      if (!stopped) onError(error);
    }
    if (!stopped) timer = setTimeout(poll, intervalMs);
  };
  void poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
