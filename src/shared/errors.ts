import type { GraphQLError } from 'graphql';
import { createGraphQLError } from 'graphql-yoga';

/**
 * Errors a client sees. Built with yoga's createGraphQLError so they pass yoga's masking even when
 * two copies of `graphql` are loaded (under vitest); anything else is masked as unexpected.
 */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'QUOTA_EXCEEDED'
  | 'TENANT_FROZEN'
  | 'RATE_LIMITED'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR';

export function clientError(code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
  return createGraphQLError(message, { extensions: { code, ...extra } });
}

/**
 * The single "not found" answer. A missing object and another tenant's object must be
 * indistinguishable to the caller: same code, same message, no echo of the id.
 */
export function notFound(typeName: string) {
  return clientError('NOT_FOUND', `${typeName} not found`);
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
