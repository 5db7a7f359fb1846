import type { Logger } from '../shared/logger.ts';
import type { Secret } from '../shared/secret.ts';
import { type KeyProvider, type KeyProviderStatus, KeyProviderUnavailableError } from './key-provider.ts';

export interface VaultKeyProviderOptions {
  /** Vault's address, e.g. `https://vault.internal:8200`. */
  address: string;
  /** A token whose policy allows the Transit paths below (datakey, decrypt, rewrap; rotate and config for KEK rotation). */
  token: Secret;
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
  readonly #options: Required<Omit<VaultKeyProviderOptions, 'namespace' | 'log'>> & Pick<VaultKeyProviderOptions, 'namespace'>;
  readonly #log: Logger;

  constructor(options: VaultKeyProviderOptions) {
    this.#options = { mount: 'transit', timeoutMs: 5_000, ...options, address: options.address.replace(/\/+$/, '') };
    this.#log = options.log.child({ component: 'key-provider', provider: 'vault', mount: this.#options.mount });
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

  async #call(method: 'GET' | 'POST', path: string, body?: object): Promise<Record<string, unknown>> {
    const { address, mount, token, namespace, timeoutMs } = this.#options;
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
    if (!response.ok) {
      const reason = reasonOf(response.status, payload.errors);
      this.#log.warn({ operation, status: response.status, reason }, 'vault call failed');
      throw this.#unavailable(reason);
    }
    this.#log.debug({ operation, ms: Math.round(performance.now() - started) }, 'vault call done');
    return payload.data ?? {};
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
