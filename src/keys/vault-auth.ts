import { readFile } from 'node:fs/promises';
import type { Logger } from '../shared/logger.ts';
import { Secret } from '../shared/secret.ts';
import { KeyProviderUnavailableError } from './key-provider.ts';

/** How the gateway proves itself to Vault. */
export type VaultAuthMethod =
  /** A token handed over by the operator; used as is, never renewed or replaced. */
  | { kind: 'token'; token: Secret }
  /**
   * AppRole (https://developer.hashicorp.com/vault/api-docs/auth/approle#login-with-approle):
   * `POST /v1/auth/<mount>/login {role_id, secret_id}`. A secret id in a file is read at every
   * login, so whatever delivers it (an orchestrator, Vault Agent) may replace it.
   */
  | { kind: 'approle'; mount?: string; roleId: string; secretId: Secret | { file: string } }
  /**
   * Kubernetes (https://developer.hashicorp.com/vault/api-docs/auth/kubernetes#login):
   * `POST /v1/auth/<mount>/login {role, jwt}` with the pod's service account token, read from
   * `jwtFile` at every login (projected tokens are rotated by the kubelet).
   */
  | { kind: 'kubernetes'; mount?: string; role: string; jwtFile: string };

export interface VaultSessionOptions {
  /** Vault's address without a trailing slash. */
  address: string;
  namespace?: string;
  method: VaultAuthMethod;
  /** Per login or renewal request (default 5 s). */
  timeoutMs?: number;
  /** First and longest wait between failed logins (default 1 s doubling to 30 s). */
  retryMs?: { first: number; max: number };
  log: Logger;
}

/** Renew (or log in again) when this share of the lease has passed. */
const RENEW_AT = 2 / 3;
/**
 * A renewal grants the role's TTL again unless the token's max TTL caps it: one that grants less
 * than the login's lease means the token nears its end, so the next step is a fresh login.
 */
const RELOGIN_BELOW = 1;

/**
 * The gateway's Vault token: a static one, or one obtained by AppRole or Kubernetes login and kept
 * alive — renewed with `POST /v1/auth/token/renew-self` at 2/3 of its lease, replaced by a fresh
 * login when it is not renewable, nears its max TTL, fails to renew, or Vault answers 403 with it
 * (revoked or expired on the server). A login that fails is retried with backoff.
 *
 * Fail closed: from a failed renewal or login until the next successful login, the session holds no
 * token, `authenticated` is false (`/readyz` unready) and `token()` throws
 * KeyProviderUnavailableError `not authenticated (…)`. Neither the secret id, the JWT nor any
 * token is ever put in a log line or an error: reasons are fixed phrases and HTTP statuses.
 */
export class VaultSession {
  readonly #options: VaultSessionOptions & { timeoutMs: number; retryMs: { first: number; max: number } };
  readonly #log: Logger;
  #token: Secret | undefined;
  /** When the held token's lease ends (ms since epoch); Infinity for a token without expiry. */
  #expiresAt = 0;
  #loginLease = 0;
  /** When the last login succeeded (ms since epoch). */
  #loggedInAt = 0;
  #failure: string | undefined;
  #failedAt = 0;
  #retryDelay: number;
  #timer: NodeJS.Timeout | undefined;
  #login: Promise<Secret> | undefined;
  #closed = false;

  constructor(options: VaultSessionOptions) {
    this.#options = { ...options, timeoutMs: options.timeoutMs ?? 5_000, retryMs: options.retryMs ?? { first: 1_000, max: 30_000 } };
    this.#retryDelay = this.#options.retryMs.first;
    this.#log = options.log.child({ component: 'vault-auth', method: options.method.kind });
    if (options.method.kind === 'token') {
      this.#token = options.method.token;
      this.#expiresAt = Number.POSITIVE_INFINITY;
    }
  }

  /** Whether this session logs in (AppRole, Kubernetes) rather than holding a static token. */
  get logsIn(): boolean {
    return this.#options.method.kind !== 'token';
  }

  /** True while a token is held whose lease has not ended: what `/readyz` reports. */
  get authenticated(): boolean {
    return this.#token !== undefined && Date.now() < this.#expiresAt;
  }

  /** Logs in now (in the background) and keeps the token alive from then on; a static token needs nothing. */
  start(): void {
    if (this.logsIn && !this.#login) void this.#loginNow().catch(() => undefined);
  }

  /** Stops renewals and retries; the token is forgotten (not revoked: other replicas hold their own). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#token = undefined;
  }

  /**
   * The token to send. Without one: joins a login in progress, or logs in now unless the last
   * attempt failed less than the retry delay ago (then it fails at once: a denying Vault is not
   * asked once per request).
   */
  async token(): Promise<Secret> {
    if (this.#token && Date.now() < this.#expiresAt) return this.#token;
    if (!this.logsIn) throw this.#unavailable('token expired');
    if (this.#login) return this.#login;
    if (this.#failure && Date.now() - this.#failedAt < this.#retryDelay) throw this.#unavailable(this.#failure);
    return this.#loginNow();
  }

  /**
   * Vault answered 403 to a call made with `stale`: the token was revoked or expired on the server.
   * Logs in again (once per stale token, however many calls saw it) and returns the new token, or
   * undefined for a static token (nothing to renew it with) and for a token younger than the first
   * retry delay: one refused that soon is a policy denial, and logging in again for every denied
   * request would hammer Vault's login endpoint.
   */
  async reauthenticate(stale: Secret): Promise<Secret | undefined> {
    if (!this.logsIn) return undefined;
    if (this.#token !== stale && this.#token) return this.#token;
    if (this.#login) return this.#login;
    if (Date.now() - this.#loggedInAt < this.#options.retryMs.first) return undefined;
    this.#log.warn('vault refused the token: logging in again');
    this.#token = undefined;
    return this.#loginNow();
  }

  #loginNow(): Promise<Secret> {
    this.#login ??= this.#doLogin().finally(() => {
      this.#login = undefined;
    });
    return this.#login;
  }

  async #doLogin(): Promise<Secret> {
    const method = this.#options.method;
    if (method.kind === 'token') return method.token;
    clearTimeout(this.#timer);
    try {
      const [path, body] =
        method.kind === 'approle'
          ? [
              `auth/${method.mount ?? 'approle'}/login`,
              {
                role_id: method.roleId,
                secret_id:
                  method.secretId instanceof Secret ? method.secretId.reveal() : await readSecretFile(method.secretId.file, 'secret id'),
              },
            ]
          : [
              `auth/${method.mount ?? 'kubernetes'}/login`,
              { role: method.role, jwt: await readSecretFile(method.jwtFile, 'service account token') },
            ];
      const auth = await this.#post(path, body, undefined, 'login');
      if (this.#closed) throw this.#unavailable('closed');
      this.#accept(auth, 'login');
      this.#loginLease = auth.lease;
      this.#loggedInAt = Date.now();
      this.#failure = undefined;
      this.#retryDelay = this.#options.retryMs.first;
      this.#log.info({ leaseSeconds: auth.lease, renewable: auth.renewable }, 'vault login done');
      return auth.token;
    } catch (error) {
      const reason = error instanceof AuthStepError ? error.reason : 'login failed';
      this.#fail(`${method.kind} login: ${reason}`);
      throw this.#unavailable(this.#failure ?? reason);
    }
  }

  async #renew(): Promise<void> {
    const token = this.#token;
    if (!token || this.#closed) return;
    try {
      const auth = await this.#post('auth/token/renew-self', {}, token, 'renewal');
      if (this.#closed || this.#token !== token) return;
      this.#accept({ ...auth, token }, 'renewal');
      this.#log.info({ leaseSeconds: auth.lease, renewable: auth.renewable }, 'vault token renewed');
    } catch (error) {
      if (this.#closed || this.#token !== token) return;
      const reason = error instanceof AuthStepError ? error.reason : 'renewal failed';
      // Unready from here until a login succeeds (the brief: a failed renewal fails closed).
      this.#token = undefined;
      this.#log.warn({ reason }, 'vault token renewal failed: logging in again');
      await this.#loginNow().catch(() => undefined);
    }
  }

  /** Holds the token and schedules what keeps it alive: a renewal, or a fresh login near the max TTL. */
  #accept(auth: { token: Secret; lease: number; renewable: boolean }, step: 'login' | 'renewal'): void {
    this.#token = auth.token;
    if (auth.lease <= 0) {
      this.#expiresAt = Number.POSITIVE_INFINITY; // a token without expiry: nothing to renew
      return;
    }
    this.#expiresAt = Date.now() + auth.lease * 1000;
    const loginLease = step === 'login' ? auth.lease : this.#loginLease;
    const renewNext = auth.renewable && auth.lease >= loginLease * RELOGIN_BELOW;
    this.#schedule(auth.lease * 1000 * RENEW_AT, renewNext ? () => this.#renew() : () => this.#loginNow().catch(() => undefined));
  }

  #fail(reason: string): void {
    this.#token = undefined;
    this.#failure = reason;
    this.#failedAt = Date.now();
    const delay = this.#retryDelay;
    this.#retryDelay = Math.min(this.#retryDelay * 2, this.#options.retryMs.max);
    this.#log.warn({ reason, retryInMs: delay }, 'vault login failed: credential operations fail closed until it succeeds');
    this.#schedule(delay, () => this.#loginNow().catch(() => undefined));
  }

  #schedule(ms: number, run: () => Promise<unknown>): void {
    clearTimeout(this.#timer);
    if (this.#closed) return;
    this.#timer = setTimeout(() => void run(), Math.max(0, ms));
    this.#timer.unref();
  }

  /** One auth request; answers `auth.client_token`, `auth.lease_duration` and `auth.renewable`. */
  async #post(
    path: string,
    body: object,
    token: Secret | undefined,
    step: 'login' | 'renewal',
  ): Promise<{ token: Secret; lease: number; renewable: boolean }> {
    const { address, namespace, timeoutMs } = this.#options;
    let response: Response;
    try {
      response = await fetch(`${address}/v1/${path}`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-Vault-Request': 'true',
          ...(token ? { 'X-Vault-Token': token.reveal() } : {}),
          ...(namespace ? { 'X-Vault-Namespace': namespace } : {}),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new AuthStepError(error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : 'unreachable');
    }
    const payload = (await response.json().catch(() => ({}))) as {
      auth?: { client_token?: unknown; lease_duration?: unknown; renewable?: unknown };
    };
    if (!response.ok) throw new AuthStepError(authFailure(response.status, step));
    const auth = payload.auth;
    if (!auth || (step === 'login' && (typeof auth.client_token !== 'string' || auth.client_token === ''))) {
      throw new AuthStepError('response lacks auth.client_token');
    }
    return {
      token: new Secret(String(auth.client_token ?? '')),
      lease: Number.isFinite(Number(auth.lease_duration)) ? Number(auth.lease_duration) : 0,
      renewable: auth.renewable === true,
    };
  }

  #unavailable(reason: string): KeyProviderUnavailableError {
    return new KeyProviderUnavailableError('vault', `not authenticated (${reason})`);
  }
}

/**
 * A failed auth step as a fixed phrase. Vault's own error text is left out on purpose: a login's
 * errors may echo what was sent (a role name, a JWT claim), and the status says enough to act on.
 */
function authFailure(status: number, step: 'login' | 'renewal'): string {
  if (status === 400) return step === 'login' ? 'rejected (HTTP 400: invalid role or credentials)' : 'rejected (HTTP 400)';
  if (status === 403) return step === 'login' ? 'permission denied' : 'token refused (revoked or expired)';
  if (status === 503) return 'sealed or unavailable';
  if (status === 429) return 'rate limited';
  return `HTTP ${status}`;
}

class AuthStepError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** A credential file's trimmed content; an unreadable or empty file names its path, never content. */
async function readSecretFile(path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = (await readFile(path, 'utf8')).trim();
  } catch {
    throw new AuthStepError(`${what} file ${path} is unreadable`);
  }
  if (!text) throw new AuthStepError(`${what} file ${path} is empty`);
  return new Secret(text).reveal(); // registered with the log scrubber, like every secret value
}
