import type { Logger } from '../shared/logger.ts';
import type { Secret } from '../shared/secret.ts';
import { type KeyProvider, type KeyProviderStatus, KeyProviderUnavailableError } from './key-provider.ts';
import { type VaultAuthMethod, VaultSession } from './vault-auth.ts';

export interface VaultKeyProviderOptions {
  /** Vault's address, e.g. `https://vault.internal:8200`. */
  address: string;
  /**
   * How to get a token whose policy allows the Transit paths below (datakey, decrypt, rewrap; rotate
   * and config for KEK rotation): a static token, AppRole or Kubernetes login (see VaultSession).
   */
  auth?: VaultAuthMethod;
  /** Shorthand for `auth: { kind: 'token', token }`. */
  token?: Secret;
  /** Between failed logins (default 1 s doubling to 30 s); tests shorten it. */
  loginRetryMs?: { first: number; max: number };
  /** Vault Enterprise namespace, sent as `X-Vault-Namespace`; unset: none. */
  namespace?: string;
  /** Where the Transit engine is mounted (default `transit`). */
  mount?: string;
  /** The Transit key (type aes256-gcm96) that wraps data keys. */
  key: string;
  /** Per request; a slower Vault counts as unavailable (default 5 s). */
  timeoutMs?: number;
  log: Logger;
}

const VERSION = /^vault:v(\d+):/;

interface SentCall {
  status: number;
  ok: boolean;
  payload: { data?: Record<string, unknown>; errors?: unknown[] };
  started: number;
}

/**
 * HashiCorp Vault Transit as the KEK, over its documented HTTP API with `fetch`
 * (https://developer.hashicorp.com/vault/api-docs/secret/transit): data keys come from
 * `datakey/plaintext`, unwrap through `decrypt`, move to the newest version through `rewrap` (the
 * plaintext never reaches the gateway), and the key is rotated and its old versions retired with
 * `keys/:name/rotate` and `keys/:name/config` (`min_decryption_version`). The KEK never leaves Vault.
 *
 * Errors fail closed as KeyProviderUnavailableError naming the cause (unreachable, sealed, permission
 * denied, rejected): never the token, never a key, never Vault's response body beyond its error list.
 */
export class VaultKeyProvider implements KeyProvider {
  readonly kind = 'vault';
  readonly #options: { address: string; namespace?: string; mount: string; key: string; timeoutMs: number };
  readonly #log: Logger;
  /** The token in use and what keeps it alive; its `authenticated` is what `/readyz` reports. */
  readonly session: VaultSession;

  constructor(options: VaultKeyProviderOptions) {
    const { address, namespace, mount = 'transit', key, timeoutMs = 5_000 } = options;
    this.#options = { address: address.replace(/\/+$/, ''), namespace, mount, key, timeoutMs };
    this.#log = options.log.child({ component: 'key-provider', provider: 'vault', mount });
    const auth = options.auth ?? (options.token && { kind: 'token' as const, token: options.token });
    if (!auth) throw new Error('VaultKeyProvider needs auth or token');
    this.session = new VaultSession({
      address: this.#options.address,
      namespace,
      method: auth,
      timeoutMs,
      retryMs: options.loginRetryMs,
      log: options.log,
    });
  }

  /** Logs in (AppRole, Kubernetes) in the background and keeps the token renewed; a static token needs nothing. */
  start(): this {
    this.session.start();
    return this;
  }

  /** Stops renewals and login retries. */
  close(): void {
    this.session.close();
  }

  async generateDataKey(): Promise<{ plaintext: Buffer; wrapped: string }> {
    const data = await this.#call('POST', `datakey/plaintext/${this.#key}`, { bits: 256 });
    const plaintext = Buffer.from(stringField(data, 'plaintext'), 'base64');
    data.plaintext = undefined;
    if (plaintext.length !== 32) throw this.#unavailable('datakey returned a key of the wrong size');
    return { plaintext, wrapped: stringField(data, 'ciphertext') };
  }

  async unwrapDataKey(wrapped: string): Promise<Buffer> {
    const data = await this.#call('POST', `decrypt/${this.#key}`, { ciphertext: wrapped });
    const plaintext = Buffer.from(stringField(data, 'plaintext'), 'base64');
    data.plaintext = undefined;
    return plaintext;
  }

  async rewrapDataKey(wrapped: string): Promise<string> {
    return stringField(await this.#call('POST', `rewrap/${this.#key}`, { ciphertext: wrapped }), 'ciphertext');
  }

  versionOf(wrapped: string): number {
    const match = VERSION.exec(wrapped);
    if (!match) throw this.#unavailable('wrapped key is not a Vault ciphertext');
    return Number(match[1]);
  }

  async rotate(): Promise<number> {
    await this.#call('POST', `keys/${this.#key}/rotate`, {});
    const { latestVersion } = await this.status();
    this.#log.info({ latestVersion }, 'transit key rotated');
    return latestVersion;
  }

  async retireBelow(version: number): Promise<void> {
    await this.#call('POST', `keys/${this.#key}/config`, { min_decryption_version: version });
    this.#log.info({ minDecryptionVersion: version }, 'transit key versions retired');
  }

  async status(): Promise<KeyProviderStatus> {
    const data = await this.#call('GET', `keys/${this.#key}`);
    return { latestVersion: Number(data.latest_version), minDecryptionVersion: Number(data.min_decryption_version) };
  }

  get #key(): string {
    return encodeURIComponent(this.#options.key);
  }

  /**
   * One Transit call with the session's token. A 403 with a logged-in token means Vault revoked or
   * expired it: log in again once and repeat the call; a second 403 is a policy denial.
   */
  async #call(method: 'GET' | 'POST', path: string, body?: object): Promise<Record<string, unknown>> {
    const token = await this.session.token();
    const first = await this.#send(method, path, token, body);
    if (first.status !== 403 || !this.session.logsIn) return this.#answer(path, first);
    const fresh = await this.session.reauthenticate(token);
    return this.#answer(path, fresh ? await this.#send(method, path, fresh, body) : first);
  }

  async #send(method: 'GET' | 'POST', path: string, token: Secret, body?: object): Promise<SentCall> {
    const { address, mount, namespace, timeoutMs } = this.#options;
    const operation = path.split('/')[0];
    const started = performance.now();
    let response: Response;
    try {
      response = await fetch(`${address}/v1/${mount}/${path}`, {
        method,
        headers: {
          'X-Vault-Token': token.reveal(),
          'X-Vault-Request': 'true',
          ...(namespace ? { 'X-Vault-Namespace': namespace } : {}),
          ...(body ? { 'Content-Type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const reason = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : 'unreachable';
      this.#log.warn({ operation, reason }, 'vault call failed');
      throw this.#unavailable(reason);
    }
    const payload = (await response.json().catch(() => ({}))) as { data?: Record<string, unknown>; errors?: unknown[] };
    return { status: response.status, ok: response.ok, payload, started };
  }

  #answer(path: string, sent: SentCall): Record<string, unknown> {
    const operation = path.split('/')[0];
    if (!sent.ok) {
      const reason = reasonOf(sent.status, sent.payload.errors);
      this.#log.warn({ operation, status: sent.status, reason }, 'vault call failed');
      throw this.#unavailable(reason);
    }
    this.#log.debug({ operation, ms: Math.round(performance.now() - sent.started) }, 'vault call done');
    return sent.payload.data ?? {};
  }

  #unavailable(reason: string): KeyProviderUnavailableError {
    return new KeyProviderUnavailableError('vault', reason);
  }
}

/** Vault answers errors as `{"errors": ["…"]}`: 403 denied, 503 sealed or standby, 400 rejected (e.g. a retired version). */
function reasonOf(status: number, errors: unknown[] | undefined): string {
  const first = Array.isArray(errors) && typeof errors[0] === 'string' ? errors[0].slice(0, 160) : '';
  if (status === 403) return 'permission denied';
  if (status === 503) return 'sealed or unavailable';
  if (status === 429) return 'rate limited';
  return `HTTP ${status}${first ? ` (${first})` : ''}`;
}

function stringField(data: Record<string, unknown>, field: string): string {
  const value = data[field];
  if (typeof value !== 'string' || value === '') throw new KeyProviderUnavailableError('vault', `response lacks ${field}`);
  return value;
}
