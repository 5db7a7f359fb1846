import type { GraphQLError } from 'graphql';
import { createGraphQLError } from 'graphql-yoga';

/**
 * The codes of the errors the gateway itself answers (docs/frontend.md lists each with its HTTP status
 * and what a client should do; test/error-codes.test.ts keeps the two in step). Built with yoga's
 * createGraphQLError so they pass yoga's masking even when two copies of `graphql` are loaded (under
 * vitest); anything else is masked as unexpected.
 */
export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'GRAPHQL_VALIDATION_FAILED',
  'CSRF_HEADER_MISSING',
  'REQUEST_TOO_LARGE',
  'CONFLICT',
  'QUOTA_EXCEEDED',
  'TENANT_FROZEN',
  /** OpenID Connect sign-in: the identity is valid, but no tenant admits it (not a member, no just-in-time joining). */
  'OIDC_UNKNOWN_SUBJECT',
  /** OpenID Connect sign-in: several tenants admit the identity; the client names one. */
  'OIDC_TENANT_REQUIRED',
  'TENANT_DELETION_PENDING',
  'TENANT_DELETED',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
  /** Trusted documents: the named hash is in no live version of the request's client app. */
  'PERSISTED_QUERY_NOT_IN_LIST',
  /** Trusted documents: this credential (an API key; in production every non-operator) runs only published documents. */
  'PERSISTED_QUERY_ONLY',
  /** Live updates: the tenant has as many open subscriptions on this replica as it may. */
  'SUBSCRIPTION_LIMIT',
  /** Live updates: the server closed the subscription (idle, longest life reached, a client too slow); subscribe again. */
  'SUBSCRIPTION_ENDED',
  /** Live updates: the agent the subscription followed was deleted. */
  'AGENT_DELETED',
  'INTERNAL_SERVER_ERROR',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export function clientError(code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
  return createGraphQLError(message, { extensions: { code, ...extra } });
}

/**
 * The single "not found" answer. A missing object and another tenant's object must be
 * indistinguishable to the caller: same code, same message, no echo of the id.
 */
export function notFound(typeName: string, id?: string) {
  const error = clientError('NOT_FOUND', `${typeName} not found`);
  // For the audit log only (a NOT_FOUND may be a cross-tenant probe): never serialised to the client.
  if (id !== undefined) Object.defineProperty(error, AUDIT_TARGET, { value: { type: typeName, id: id.slice(0, 200) } });
  return error;
}

const AUDIT_TARGET = Symbol('auditTarget');

/** The object a NOT_FOUND was about, whether the error is ours or graphql's wrapper around it. */
export function auditTargetOf(error: unknown): { type: string; id: string } | undefined {
  const own = (value: unknown) => (value as { [AUDIT_TARGET]?: { type: string; id: string } } | null)?.[AUDIT_TARGET];
  return own(error) ?? own((error as { originalError?: unknown } | null)?.originalError);
}

const PROBE = Symbol('probe');

/**
 * Input no client sends by mistake (a control character inside a global id): answered like any
 * BAD_USER_INPUT, and recorded in the audit log as a denied attempt, with `reason`, like a refusal.
 */
export function probeInput(message: string, reason: string) {
  const error = badInput(message);
  Object.defineProperty(error, PROBE, { value: reason });
  return error;
}

/** The reason of a `probeInput` error, whether the error is ours or graphql's wrapper around it. */
export function probeReasonOf(error: unknown): string | undefined {
  const own = (value: unknown) => (value as { [PROBE]?: string } | null)?.[PROBE];
  return own(error) ?? own((error as { originalError?: unknown } | null)?.originalError);
}

const BEFORE_EXECUTION = Symbol('refusedBeforeExecution');

/**
 * Marks a refusal made in front of execution by a plugin that has no request transaction (the cost
 * limit), so that useAuditedRefusals records it like the refusals yoga and graphql-armor make.
 */
export function refusedBeforeExecution<E extends object>(error: E): E {
  Object.defineProperty(error, BEFORE_EXECUTION, { value: true });
  return error;
}

/** Whether `refusedBeforeExecution` marked the error (or the one graphql wrapped). */
export function isRefusedBeforeExecution(error: unknown): boolean {
  const own = (value: unknown) => (value as { [BEFORE_EXECUTION]?: boolean } | null)?.[BEFORE_EXECUTION] === true;
  return own(error) || own((error as { originalError?: unknown } | null)?.originalError);
}

export function badInput(message: string, field?: string) {
  return clientError('BAD_USER_INPUT', message, field ? { field } : {});
}

export function forbidden(message = 'Not allowed') {
  return clientError('FORBIDDEN', message);
}

/** Answered with HTTP 401 (yoga reads `extensions.http` and keeps it out of the response body). */
export function unauthenticated(message = 'Invalid or expired credentials') {
  return clientError('UNAUTHENTICATED', message, { http: { status: 401 } });
}

/** What a client sees for anything unexpected: no detail; the cause is logged with the request id. */
export function internalError(message = 'Unexpected error.') {
  return clientError('INTERNAL_SERVER_ERROR', message);
}

/** By name rather than instanceof: under vitest two copies of `graphql` may be loaded. */
export function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof Error && error.name === 'GraphQLError';
}

/**
 * The error as a client may see it: yoga adds the parser's own error to some refusals
 * (`extensions.originalError` on a body that is not JSON), whose message quotes the body back and
 * names parser internals. Yoga also reads that field to keep such a refusal at HTTP 400 instead of
 * the 200 of a GraphQL error: without it, the refusal's own status must stand (`spec` dropped).
 */
export function withoutInternals(error: GraphQLError): GraphQLError {
  const extensions = error.extensions as Record<string, unknown> & { http?: { status?: number; spec?: boolean } };
  if (!extensions || !('originalError' in extensions)) return error;
  delete extensions.originalError;
  if (extensions.http?.spec) {
    const { spec: _spec, ...http } = extensions.http;
    extensions.http = http;
  }
  return error;
}

/** The database's own refusals (raised by our functions, naming no row) become CONFLICT answers; anything else stays unexpected. */
export function refusalAsConflict(functionName: string) {
  return (error: unknown): never => {
    const match = error instanceof Error ? new RegExp(`${functionName}: ([^\n]+)`).exec(error.message) : null;
    if (match?.[1]) throw clientError('CONFLICT', `Refused: ${match[1].slice(0, 200)}`);
    throw error;
  };
}
