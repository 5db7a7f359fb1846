/** Words a person understands for each `extensions.code` the console can meet (docs/frontend.md lists them all). */
const WORDS: Record<string, string> = {
  UNAUTHENTICATED: 'You are signed out. Open a new sign-in link to continue.',
  FORBIDDEN: 'Your role does not allow this.',
  NOT_FOUND: 'Not found. It may have been deleted, or it is not yours to see.',
  BAD_USER_INPUT: 'Something in the form is not valid.',
  BAD_REQUEST: 'The request was not understood.',
  CSRF_HEADER_MISSING: 'The request was refused as a possible cross-site request.',
  CONFLICT: 'That conflicts with something that already exists (a name in use?).',
  QUOTA_EXCEEDED: 'Your plan’s quota is reached: delete an agent or ask an operator for more.',
  TENANT_FROZEN: 'This tenant is frozen: every request is refused until an operator unfreezes it.',
  TENANT_DELETION_PENDING: 'This tenant is being deleted.',
  TENANT_DELETED: 'This tenant was deleted.',
  RATE_LIMITED: 'Too many requests: wait a moment and try again.',
  SERVICE_UNAVAILABLE: 'The gateway is busy or starting: try again in a moment.',
  PERSISTED_QUERY_NOT_IN_LIST: 'This console is newer or older than the gateway: reload the page.',
  PERSISTED_QUERY_ONLY: 'This credential may only run published operations.',
  NETWORK: 'The gateway cannot be reached.',
  OIDC_ISSUER_UNKNOWN: 'No tenant signs in with that identity provider and client ID here. Check them with your owner.',
  OIDC_REFUSED: 'Your identity provider did not sign you in.',
  OIDC_UNKNOWN_SUBJECT: 'Your identity provider signed you in, but no tenant here has you as a member: ask an owner to add you.',
  OIDC_TENANT_REQUIRED:
    'You belong to several tenants here; signing in through the console to one of them is not supported yet: use a sign-in link.',
};

export class ApiError extends Error {
  constructor(
    readonly code: string,
    detail?: string,
  ) {
    super(detail ?? code);
  }

  /** What the console shows: the words for the code, and the gateway's own message for bad input. */
  get words(): string {
    const words = WORDS[this.code] ?? 'Something went wrong on the gateway. Try again; if it persists, tell an operator.';
    return this.code === 'BAD_USER_INPUT' && this.message !== this.code ? `${words} ${this.message}` : words;
  }
}

export function wordsFor(error: unknown): string {
  return error instanceof ApiError ? error.words : new ApiError('INTERNAL_SERVER_ERROR').words;
}
