import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type DocumentNode, type ExecutionArgs, type GraphQLError, getOperationAST } from 'graphql';
import type { Context as SocketContext, SubscribePayload } from 'graphql-ws';
import { type Extra, useServer } from 'graphql-ws/use/ws';
import { createGraphQLError, type YogaInitialContext, type YogaServerInstance } from 'graphql-yoga';
import { type WebSocket, WebSocketServer } from 'ws';
import { type Principal, tenantOf } from '../auth/principal.ts';
import { useAuditedRefusals } from '../modules/audit/use-audited-refusals.ts';
import { markCheckedBeforeExecution } from '../modules/policy/checked-before-execution.ts';
import type { RateLimits } from '../modules/policy/rate-limits.ts';
import type { CostLimitOptions } from '../modules/policy/use-cost-limit.ts';
import { operationCost } from '../modules/policy/use-cost-limit.ts';
import { documentLimitError } from '../modules/policy/use-input-sanitising.ts';
import { type TrustedDocumentLookup, trustedDocumentFor } from '../modules/policy/use-trusted-documents.ts';
import { clientError, internalError, isGraphQLError, refusedBeforeExecution, unauthenticated } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { Metrics } from '../shared/metrics.ts';
import { type AuthDeps, principalOf } from './authenticate.ts';
import type { RequestContext } from './context.ts';
import { inTokenTransaction } from './use-request-transaction.ts';

/** The path graphql-ws is served on: the same as GraphQL over HTTP (an upgrade request there). */
export const GRAPHQL_WS_PATH = '/graphql';

export interface GraphqlWsOptions {
  /** The gateway's yoga: every operation is parsed, validated, given its context and run through its envelop plugins. */
  yoga: Pick<YogaServerInstance<Record<string, never>, RequestContext>, 'getEnveloped'>;
  auth: AuthDeps;
  /** The published client apps' documents (the same registry HTTP requests use). */
  documents: TrustedDocumentLookup;
  /** See useTrustedDocuments: who may send an operation that is not a published document. */
  mode: 'development' | 'production';
  rateLimits: RateLimits;
  documentCost: CostLimitOptions;
  /** Longest document in characters (server.ts's DEFAULT_MAX_DOCUMENT_CHARACTERS unless configured). */
  maxDocumentCharacters: number;
  /** Largest message in bytes; a larger one closes the socket (1009). */
  maxPayloadBytes: number;
  /**
   * Browser origins besides the gateway's own (`https://app.example.com`) whose pages may open a
   * socket. A handshake whose `Origin` is neither this list nor the gateway's own host is refused
   * with 403 before any socket exists (cross-site WebSocket hijacking).
   */
  allowedOrigins?: readonly string[];
  log: Logger;
  /** Refusals before execution are counted (`fleetgate_refused_before_execution_total`) as for HTTP. */
  metrics: Metrics;
  /** Ping period (graphql-ws keep-alive; a peer that misses a pong for as long is dropped). Default 12 s. */
  keepAliveMs?: number;
  /** A socket that has held no subscription for this long is closed (4000 Idle). Default 5 minutes. */
  idleMs?: number;
  /** Sockets one tenant (or all operators together) may hold open on this replica; the next is closed 4429. Default 100. */
  maxSocketsPerTenant?: number;
}

/** What a deployment may set of a socket's bounds (GraphqlWsOptions); the rest comes from the gateway. */
export type GraphqlWsSettings = Pick<GraphqlWsOptions, 'allowedOrigins' | 'idleMs' | 'maxSocketsPerTenant' | 'keepAliveMs'>;

export const DEFAULT_WS_IDLE_MS = 5 * 60_000;
export const DEFAULT_WS_SOCKETS_PER_TENANT = 100;

/** What the client sends in `connection_init`'s payload; the same names as the HTTP headers. */
interface ConnectionParams {
  authorization?: unknown;
  'x-graphql-client-name'?: unknown;
  'x-graphql-client-version'?: unknown;
}

type Ctx = SocketContext<Record<string, unknown> | undefined, Extra>;

/** A refusal of the connection: the close code and a fixed reason that says nothing more. */
const UNAUTHORIZED = { code: 4401, reason: 'Unauthorized' } as const;
const FORBIDDEN = { code: 4403, reason: 'Forbidden' } as const;
const UNAVAILABLE = { code: 1013, reason: 'Try again later' } as const;
const TOO_MANY = { code: 4429, reason: 'Too many connections' } as const;
const IDLE = { code: 4000, reason: 'Idle' } as const;

/**
 * GraphQL over WebSocket (the `graphql-transport-ws` protocol of `graphql-ws`) on `http`'s upgrade
 * requests of `/graphql`, for clients that cannot use SSE. Subscriptions only: queries and mutations
 * stay on HTTP, where the request transaction, its audit trail, CSRF and the per-operation metrics
 * wrap them. yoga's `onRequest`/`onParams` hooks never see a socket's messages, so every policy they
 * hold for HTTP is applied here explicitly, from the same code:
 * - the handshake's `Origin`: the gateway's own host or an allowed origin (refused with 403);
 * - authentication at `connection_init` from `connectionParams.authorization` (`Bearer …`: user
 *   tokens, API keys, as on HTTP), the token's liveness checked in the database (a revoked session
 *   is refused) and the tenant's access gate (frozen, deleted): 4401 or 4403, with no detail;
 * - per subscribe: the credential again (an API key revoked since), trusted documents (a `documentId`
 *   of the request's client app, or an arbitrary document only where HTTP allows one), the document
 *   size, the armor's depth/alias/directive/token limits (validation through yoga's envelop), the
 *   cost limit, the access gate (the context), the rate limit, then the subscription's own scopes
 *   and tenant read (live.schema.ts) and the live module's per-tenant stream cap;
 * - bounds of the socket itself: unauthenticated sockets are dropped after 3 s (graphql-ws's
 *   `connection_init` timeout), an admitted tenant holds at most `maxSocketsPerTenant` sockets on
 *   this replica (4429), and a socket that holds no subscription for `idleMs` is closed (4000), so a
 *   credential cannot pin memory with sockets that do nothing. Counted per tenant, not per address:
 *   behind a load balancer every client shares its address;
 * - while it runs: the live module ends the stream on a freeze, a removed member, a deleted agent
 *   (a final `next` with the error's code, then `complete`), exactly as over SSE.
 */
export function serveGraphqlWs(http: Server, options: GraphqlWsOptions) {
  const log = options.log.child({ component: 'graphql-ws' });
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes });
  /** The admitted sockets: each one's owner (its tenant, or `operator`), and since when it has held no subscription. */
  const admitted = new Map<Ctx, { owner: string; idleSince: number | undefined }>();
  const socketsOf = new Map<string, number>();
  const maxSockets = options.maxSocketsPerTenant ?? DEFAULT_WS_SOCKETS_PER_TENANT;
  const idleMs = options.idleMs ?? DEFAULT_WS_IDLE_MS;
  // The HTTP plugin itself, called with each refused subscribe: the same audit event and metric, not a copy of them.
  const auditedRefusals = useAuditedRefusals({ auth: options.auth, log: options.log, metrics: options.metrics });
  const recordRefusal = (request: Request, errors: readonly GraphQLError[]) =>
    Promise.resolve(auditedRefusals.onResultProcess?.({ request, result: { errors } } as never)).catch((error: unknown) =>
      log.error({ err: error }, 'could not record a refused websocket subscription'),
    );
  const server = useServer<Record<string, unknown> | undefined>(
    {
      // Never an error's message in a close reason.
      isProd: true,
      execute: (args) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
      onConnect: async (ctx) => {
        const answer = await admitConnection(ctx as Ctx, options, log);
        if ('code' in answer) return refuse(ctx as Ctx, answer);
        if ((socketsOf.get(answer.owner) ?? 0) >= maxSockets) {
          log.info({ owner: answer.owner }, 'websocket refused: the tenant holds its most sockets');
          return refuse(ctx as Ctx, TOO_MANY);
        }
        admitted.set(ctx as Ctx, { owner: answer.owner, idleSince: Date.now() });
        socketsOf.set(answer.owner, (socketsOf.get(answer.owner) ?? 0) + 1);
        return true;
      },
      onClose: (ctx) => {
        const socket = admitted.get(ctx as Ctx);
        if (!socket) return;
        admitted.delete(ctx as Ctx);
        const left = (socketsOf.get(socket.owner) ?? 1) - 1;
        if (left > 0) socketsOf.set(socket.owner, left);
        else socketsOf.delete(socket.owner);
      },
      onSubscribe: async (ctx, _id, payload) => {
        let request: Request | undefined;
        let answer: ExecutionArgs | GraphQLError[];
        try {
          request = requestOf(ctx as Ctx);
          answer = await prepare(ctx as Ctx, request, payload, options);
        } catch (error) {
          answer = [answerOf(error, log)];
        }
        if (Array.isArray(answer) && request) await recordRefusal(request, answer);
        return answer;
      },
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map(clientJsonOf) as unknown as GraphQLError[] } : result,
      onError: (_ctx, _id, _payload, errors) => errors.map(clientJsonOf) as unknown as GraphQLError[],
    },
    wss,
    options.keepAliveMs,
  );
  // Idle sockets: one sweep for all of them, at a tenth of the idle time (at most 10 s late).
  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const [ctx, socket] of admitted) {
        if (Object.keys(ctx.subscriptions).length > 0) socket.idleSince = undefined;
        else if (socket.idleSince === undefined) socket.idleSince = now;
        else if (now - socket.idleSince >= idleMs) ctx.extra.socket.close(IDLE.code, IDLE.reason);
      }
    },
    Math.min(Math.max(idleMs / 10, 50), 10_000),
  );
  sweep.unref();
  const allowed = new Set(options.allowedOrigins ?? []);
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (pathOf(request.url) !== GRAPHQL_WS_PATH) return refuseUpgrade(socket, 404, 'Not Found');
    const origin = request.headers.origin;
    if (!originAllowed(origin, request.headers.host, allowed)) {
      log.info({ origin: origin?.slice(0, 200) }, 'websocket from a foreign origin refused');
      return refuseUpgrade(socket, 403, 'Forbidden');
    }
    wss.handleUpgrade(request, socket, head, (ws: WebSocket) => wss.emit('connection', ws, request));
  };
  http.on('upgrade', onUpgrade);
  let closing: Promise<void> | undefined;
  const close = async () => {
    http.off('upgrade', onUpgrade);
    clearInterval(sweep);
    const deadline = Date.now() + 1_000;
    while (Date.now() < deadline && [...admitted.keys()].some((ctx) => Object.keys(ctx.subscriptions).length > 0)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await server.dispose();
  };
  return {
    /** Sockets open now (tests). */
    get openConnections() {
      return wss.clients.size;
    },
    /**
     * Stops accepting sockets and closes the open ones (1001). Call after LiveUpdates.stop(): the
     * streams it ended get up to a second to send their final error and `complete` first. Idempotent.
     */
    close(): Promise<void> {
      closing ??= close();
      return closing;
    },
  };
}

/**
 * Cross-site WebSocket hijacking: a browser sends `Origin` on every WebSocket handshake and lets any
 * page open one, so a page of another site is refused unless its origin is allowed. The gateway's
 * own pages (the console, GraphiQL) share its host. No `Origin` means no browser: such a client
 * holds its own credential, which is what authenticates it (nothing ambient, like a cookie, is used).
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (origin === undefined) return true;
  if (allowed.has(origin)) return true;
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false; // `null` (a sandboxed frame, a file) or garbage
  }
}

/** The request target's path; undefined for one no URL parser accepts (an event handler must not throw). */
function pathOf(target: string | undefined): string | undefined {
  try {
    return new URL(target ?? '/', 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

/** Closes a socket refused at `connection_init` with its code and fixed reason; false for graphql-ws's onConnect. */
function refuse(ctx: Ctx, refusal: { code: number; reason: string }): false {
  ctx.extra.socket.close(refusal.code, refusal.reason);
  return false;
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}

type Enveloped = ReturnType<GraphqlWsOptions['yoga']['getEnveloped']>;

/**
 * A fetch Request standing for one message of the socket, carrying the connection's credential and
 * client app as the headers an HTTP request would: the gateway's authentication, trusted-document
 * and context code read requests. A fresh one per subscribe, so the credential is verified again.
 */
function requestOf(ctx: Ctx): Request {
  const params = (ctx.connectionParams ?? {}) as ConnectionParams;
  const headers = new Headers();
  const authorization = params.authorization;
  if (authorization !== undefined) {
    if (typeof authorization !== 'string' || authorization.length > 4_200) throw unauthenticated();
    try {
      headers.set('authorization', authorization);
    } catch {
      throw unauthenticated(); // a value no header could carry
    }
  }
  for (const name of ['x-graphql-client-name', 'x-graphql-client-version'] as const) {
    const value = params[name];
    if (typeof value !== 'string') continue;
    try {
      headers.set(name, value.slice(0, 200));
    } catch {
      headers.set(name, ''); // malformed: clientAppOf refuses it
    }
  }
  return new Request(`http://localhost${GRAPHQL_WS_PATH}`, { method: 'POST', headers });
}

function envelopedFor(ctx: Ctx, request: Request, options: GraphqlWsOptions, params: SubscribePayload = { query: '' }): Enveloped {
  const initial = { request, req: ctx.extra.request, socket: ctx.extra.socket, params } as unknown as Partial<YogaInitialContext>;
  return options.yoga.getEnveloped(initial as never);
}

/**
 * Who may hold a socket: a credential is required (there is nothing for anonymous callers to
 * subscribe to); it must verify as on HTTP (4401), be live in the database now (a revoked session
 * or a removed member: 4401) and pass the access gate (a frozen or deleted tenant: 4403). What the
 * principal may subscribe to is decided per subscription, by the same scopes as HTTP.
 */
async function admitConnection(
  ctx: Ctx,
  options: GraphqlWsOptions,
  log: Logger,
): Promise<typeof UNAUTHORIZED | typeof FORBIDDEN | typeof UNAVAILABLE | { owner: string }> {
  try {
    const request = requestOf(ctx);
    const principal = await principalOf(request, options.auth);
    if (principal.kind === 'anonymous') {
      log.info('websocket without a credential refused');
      return UNAUTHORIZED;
    }
    const context = (await envelopedFor(ctx, request, options).contextFactory()) as unknown as RequestContext;
    await inTokenTransaction(context, async () => true);
    log.debug({ principal: principal.kind, tenantId: tenantOf(principal) }, 'websocket admitted');
    return { owner: tenantOf(principal) ?? principal.kind };
  } catch (error) {
    const code = isGraphQLError(error) ? error.extensions?.code : undefined;
    log.info({ code: code ?? 'unexpected' }, 'websocket refused');
    if (code === 'UNAUTHENTICATED') return UNAUTHORIZED;
    if (code === 'SERVICE_UNAVAILABLE') return UNAVAILABLE;
    if (typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR') return FORBIDDEN;
    log.error({ err: error }, 'could not admit a websocket');
    return UNAVAILABLE;
  }
}

/**
 * One `subscribe` message: the policies HTTP applies in its `onParams`/`onExecute` hooks, then the
 * execution arguments of yoga's envelop (its context, masking, scope-auth, deletion grace, audit of
 * refused subscriptions). Answers the errors of a refusal instead.
 */
async function prepare(
  ctx: Ctx,
  request: Request,
  payload: SubscribePayload,
  options: GraphqlWsOptions,
): Promise<ExecutionArgs | GraphQLError[]> {
  const principal = await principalOf(request, options.auth);
  const source = await sourceOf(principal, request, payload, options);
  if (source.length > options.maxDocumentCharacters) return [documentLimitError()];
  const params: SubscribePayload = { ...payload, query: source };
  const enveloped = envelopedFor(ctx, request, options, params);
  let document: DocumentNode;
  try {
    document = enveloped.parse(source);
  } catch (error) {
    return [coded(error, 'GRAPHQL_PARSE_FAILED')];
  }
  let errors: readonly GraphQLError[];
  try {
    errors = enveloped.validate(enveloped.schema, document) as readonly GraphQLError[];
  } catch (error) {
    return [coded(error, 'GRAPHQL_VALIDATION_FAILED')]; // the armor's limits throw their refusal
  }
  if (errors.length > 0) return errors.map((error) => coded(error, 'GRAPHQL_VALIDATION_FAILED'));
  const operation = getOperationAST(document, payload.operationName);
  if (!operation)
    return [createGraphQLError('Could not determine the operation to run', { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } })];
  if (operation.operation !== 'subscription') {
    return [clientError('BAD_REQUEST', 'Only subscriptions run over WebSocket: send queries and mutations over HTTP')];
  }
  const variables = (payload.variables ?? {}) as Record<string, unknown>;
  if (operationCost(document, payload.operationName, variables, options.documentCost) > options.documentCost.maxCost) {
    return [refusedBeforeExecution(clientError('BAD_USER_INPUT', 'Operation too expensive: ask for fewer items'))];
  }
  // The access gate (freeze, deletion) and the request's region, as for every HTTP request.
  const contextValue = (await enveloped.contextFactory()) as unknown as RequestContext;
  const refusal = await options.rateLimits.admit(principal, {
    orm: contextValue.region.orm,
    requestId: contextValue.requestId,
    log: contextValue.log,
  });
  if (refusal) return [refusal];
  markCheckedBeforeExecution(contextValue);
  return {
    schema: enveloped.schema,
    document,
    operationName: payload.operationName,
    variableValues: variables,
    contextValue,
    rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
  };
}

/** The document a subscribe message runs: decided as for HTTP (trustedDocumentFor), the operation it sent when it names no document. */
async function sourceOf(principal: Principal, request: Request, payload: SubscribePayload, options: GraphqlWsOptions): Promise<string> {
  const found = await trustedDocumentFor(principal, request, payload, { mode: options.mode, registry: options.documents });
  return found ? found.document : payload.query;
}

/** A refusal as the client sees it: the error with its code, or INTERNAL_SERVER_ERROR (logged) for anything unexpected. */
function answerOf(error: unknown, log: Logger): GraphQLError {
  if (isGraphQLError(error) && typeof error.extensions?.code === 'string' && error.extensions.code !== 'INTERNAL_SERVER_ERROR')
    return error;
  log.error({ err: error }, 'unexpected error opening a websocket subscription');
  return internalError();
}

function coded(error: unknown, code: string): GraphQLError {
  if (!isGraphQLError(error)) return createGraphQLError('Syntax Error: Query validation error.', { extensions: { code } });
  (error.extensions as Record<string, unknown>).code ??= code;
  return error;
}

/** An error as sent on the socket: `extensions.http` (an HTTP status for yoga) left out, as yoga leaves it out of HTTP bodies. */
function clientJsonOf(error: GraphQLError): Record<string, unknown> {
  const json = (typeof error.toJSON === 'function' ? error.toJSON() : { ...error }) as unknown as Record<string, unknown> & {
    extensions?: Record<string, unknown>;
  };
  if (json.extensions && 'http' in json.extensions) {
    const { http: _http, ...extensions } = json.extensions;
    json.extensions = extensions;
  }
  return json;
}
