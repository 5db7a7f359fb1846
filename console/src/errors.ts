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
    'Several tenants here would let you in, but you are an active member of none of them: ask an owner to add you, or use a sign-in link.',
};

/** Words for some codes that say more on one screen than the general ones (a form's own refusals). */
export type Words = Partial<Record<string, string>>;

export class ApiError extends Error {
  constructor(
    readonly code: string,
    detail?: string,
    /** The input field a BAD_USER_INPUT names (`extensions.field`), if any. */
    readonly field?: string,
  ) {
    super(detail ?? code);
  }

  /** What the console shows: the screen's words for the code (or field), else the general ones, with the gateway's own message for bad input. */
  wordsWith(own: Words = {}): string {
    const special = (this.field ? own[`${this.code}:${this.field}`] : undefined) ?? own[this.code];
    if (special) return special;
    const words = WORDS[this.code] ?? 'Something went wrong on the gateway. Try again; if it persists, tell an operator.';
    return this.code === 'BAD_USER_INPUT' && this.message !== this.code ? `${words} ${this.message}` : words;
  }

  get words(): string {
    return this.wordsWith();
  }
}

export function wordsFor(error: unknown, own?: Words): string {
  return (error instanceof ApiError ? error : new ApiError('INTERNAL_SERVER_ERROR')).wordsWith(own);
}
