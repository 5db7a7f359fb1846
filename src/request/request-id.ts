const ids = new WeakMap<Request, string>();

/**
 * The request's correlation id: the client's `x-request-id` (at most 64 characters) or a fresh uuid,
 * the same for every part of the gateway that asks about one request (its context and log lines,
 * the audit event of a refusal made before any context existed).
 */
export function requestIdOf(request: Request): string {
  let id = ids.get(request);
  if (id === undefined) {
    id = request.headers.get('x-request-id')?.slice(0, 64) || crypto.randomUUID();
    ids.set(request, id);
  }
  return id;
}
