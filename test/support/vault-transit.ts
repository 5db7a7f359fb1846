import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An in-test HashiCorp Vault Transit engine over HTTP (no Vault server can run on these machines),
 * following the documented API (https://developer.hashicorp.com/vault/api-docs/secret/transit):
 * `X-Vault-Token` (403 `permission denied` otherwise), optional `X-Vault-Namespace`, JSON bodies,
 * `{"data": …}` answers and `{"errors": […]}` failures, `vault:v<N>:` ciphertexts of aes256-gcm96
 * key versions, `datakey/plaintext`, `encrypt`, `decrypt`, `rewrap`, `keys/:name` (read),
 * `keys/:name/rotate`, `keys/:name/config` with `min_decryption_version` (older versions: 400), and
 * a sealed state (503 `Vault is sealed`). Real AES-GCM, so a wrong or edited ciphertext fails.
 *
 * With `auth`, the login endpoints too (https://developer.hashicorp.com/vault/api-docs/auth/approle,
 * …/auth/kubernetes, …/auth/token): `POST /v1/auth/<mount>/login` with `{role_id, secret_id}` (AppRole;
 * 400 `invalid role or secret ID` otherwise) or `{role, jwt}` (Kubernetes; 400 `invalid role name` for an
 * unknown role, 403 `permission denied` for a wrong JWT), answering `{"auth": {client_token, accessor,
 * token_policies, lease_duration, renewable}}` with `data: null`; and `POST /v1/auth/token/renew-self`
 * with `X-Vault-Token`, which extends the lease by the TTL up to the max TTL (403 for an expired,
 * revoked or unknown token). Issued tokens open the Transit paths while their lease lasts.
 */
export async function startTransitServer(options: {
  token: string;
  namespace?: string;
  mount?: string;
  key?: string;
  auth?: {
    approle?: { roleId: string; secretId: string; mount?: string };
    kubernetes?: { role: string; jwt: string; mount?: string };
    /** Seconds: the lease of a login and of each renewal (default 3600), the max TTL from login (default 86400). */
    ttl?: number;
    maxTtl?: number;
    renewable?: boolean;
  };
}) {
  const mount = options.mount ?? 'transit';
  const auth = options.auth;
  /** Issued tokens: when each lease ends and when the max TTL does (ms since epoch). */
  const issued = new Map<string, { expiresAt: number; maxAt: number }>();
  const keys = new Map<string, { versions: Map<number, Buffer>; latest: number; minDecryption: number }>();
  keys.set(options.key ?? 'fleetgate', { versions: new Map([[1, randomBytes(32)]]), latest: 1, minDecryption: 1 });
  const state = {
    sealed: false,
    /** Logins answer 403 `permission denied` while set (a revoked secret id, a Vault policy change). */
    denyLogins: false,
    logins: 0,
    renewals: 0,
    /** Down: every connection is dropped without an answer, as a crashed or unreachable Vault. */
    down: false,
    /** Called with each request's path before it is answered (chaos tests cut the server at the n-th call). */
    onRequest: undefined as ((path: string) => void) | undefined,
    requests: [] as { method: string; path: string; namespace?: string }[],
  };
  const liveToken = (token: unknown) => {
    if (token === options.token) return true;
    const lease = typeof token === 'string' ? issued.get(token) : undefined;
    return lease !== undefined && Date.now() < lease.expiresAt;
  };
  const issue = () => {
    const token = `hvs.issued-${randomBytes(18).toString('base64url')}`;
    const ttl = auth?.ttl ?? 3600;
    const now = Date.now();
    issued.set(token, { expiresAt: now + ttl * 1000, maxAt: now + (auth?.maxTtl ?? 86_400) * 1000 });
    state.logins += 1;
    return {
      client_token: token,
      accessor: randomBytes(12).toString('hex'),
      policies: ['default', 'fleetgate-transit'],
      token_policies: ['default', 'fleetgate-transit'],
      metadata: {},
      lease_duration: ttl,
      renewable: auth?.renewable ?? true,
      entity_id: '',
      token_type: 'service',
      orphan: true,
    };
  };
  const authRoutes = new Map<string, (body: Record<string, unknown>, token: unknown) => object>();
  if (auth?.approle) {
    const role = auth.approle;
    authRoutes.set(`auth/${role.mount ?? 'approle'}/login`, (body) => {
      if (body.role_id !== role.roleId || body.secret_id !== role.secretId) throw new TransitError(400, 'invalid role or secret ID');
      if (state.denyLogins) throw new TransitError(403, 'permission denied');
      return issue();
    });
  }
  if (auth?.kubernetes) {
    const role = auth.kubernetes;
    authRoutes.set(`auth/${role.mount ?? 'kubernetes'}/login`, (body) => {
      if (body.role !== role.role) throw new TransitError(400, `invalid role name "${String(body.role)}"`);
      if (body.jwt !== role.jwt || state.denyLogins) throw new TransitError(403, 'permission denied');
      return issue();
    });
  }
  if (auth) {
    authRoutes.set('auth/token/renew-self', (_body, token) => {
      const lease = typeof token === 'string' ? issued.get(token) : undefined;
      if (!lease || Date.now() >= lease.expiresAt) throw new TransitError(403, 'permission denied');
      if (!(auth.renewable ?? true)) throw new TransitError(400, 'lease is not renewable');
      const ttl = Math.min(auth.ttl ?? 3600, Math.floor((lease.maxAt - Date.now()) / 1000));
      if (ttl <= 0) throw new TransitError(403, 'permission denied');
      lease.expiresAt = Date.now() + ttl * 1000;
      state.renewals += 1;
      return { client_token: token, accessor: '', policies: ['default', 'fleetgate-transit'], lease_duration: ttl, renewable: true };
    });
  }
  const encrypt = (name: string, plaintext: Buffer) => {
    const key = keys.get(name);
    if (!key) throw new TransitError(400, 'encryption key not found');
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key.versions.get(key.latest) as Buffer, nonce);
    const body = Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return { ciphertext: `vault:v${key.latest}:${body.toString('base64')}`, key_version: key.latest };
  };
  const decrypt = (name: string, ciphertext: unknown) => {
    const key = keys.get(name);
    if (!key) throw new TransitError(400, 'encryption key not found');
    const match = typeof ciphertext === 'string' ? /^vault:v(\d+):(.+)$/.exec(ciphertext) : null;
    if (!match) throw new TransitError(400, 'invalid ciphertext: no prefix');
    const version = Number(match[1]);
    if (version < key.minDecryption) throw new TransitError(400, 'ciphertext or signature version is disallowed by policy (too old)');
    const material = key.versions.get(version);
    if (!material) throw new TransitError(400, 'invalid ciphertext: key version not found');
    const raw = Buffer.from(match[2] ?? '', 'base64');
    try {
      const decipher = createDecipheriv('aes-256-gcm', material, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
    } catch {
      throw new TransitError(400, 'cipher: message authentication failed');
    }
  };
  const keyInfo = (name: string) => {
    const key = keys.get(name);
    if (!key) throw new TransitError(404, '');
    return {
      name,
      type: 'aes256-gcm96',
      latest_version: key.latest,
      min_decryption_version: key.minDecryption,
      min_encryption_version: 0,
      keys: Object.fromEntries([...key.versions.keys()].map((v) => [String(v), 1_700_000_000 + v])),
    };
  };

  const routes: [string, RegExp, (match: RegExpExecArray, body: Record<string, unknown>) => unknown][] = [
    [
      'POST',
      /^datakey\/plaintext\/([^/]+)$/,
      ([, name], body) => {
        if (body.bits !== undefined && ![128, 256, 512].includes(Number(body.bits))) throw new TransitError(400, 'invalid bits');
        const plaintext = randomBytes(Number(body.bits ?? 256) / 8);
        return { plaintext: plaintext.toString('base64'), ...encrypt(String(name), plaintext) };
      },
    ],
    ['POST', /^encrypt\/([^/]+)$/, ([, name], body) => encrypt(String(name), Buffer.from(String(body.plaintext ?? ''), 'base64'))],
    ['POST', /^decrypt\/([^/]+)$/, ([, name], body) => ({ plaintext: decrypt(String(name), body.ciphertext).toString('base64') })],
    ['POST', /^rewrap\/([^/]+)$/, ([, name], body) => encrypt(String(name), decrypt(String(name), body.ciphertext))],
    ['GET', /^keys\/([^/]+)$/, ([, name]) => keyInfo(String(name))],
    [
      'POST',
      /^keys\/([^/]+)\/rotate$/,
      ([, name]) => {
        const key = keys.get(String(name));
        if (!key) throw new TransitError(400, 'key not found');
        key.latest += 1;
        key.versions.set(key.latest, randomBytes(32));
        return keyInfo(String(name));
      },
    ],
    [
      'POST',
      /^keys\/([^/]+)\/config$/,
      ([, name], body) => {
        const key = keys.get(String(name));
        if (!key) throw new TransitError(400, 'key not found');
        const min = Number(body.min_decryption_version);
        if (!Number.isInteger(min) || min < 0) throw new TransitError(400, 'invalid min_decryption_version');
        if (min > key.latest) throw new TransitError(400, 'cannot set min decryption version to a value greater than the latest version');
        key.minDecryption = Math.max(min, 1);
        return keyInfo(String(name));
      },
    ],
  ];

  async function handle(request: IncomingMessage, response: ServerResponse) {
    const url = new URL(request.url ?? '/', 'http://vault');
    const namespace = request.headers['x-vault-namespace'] as string | undefined;
    state.requests.push({ method: request.method ?? '', path: url.pathname, namespace });
    state.onRequest?.(url.pathname);
    if (state.down) {
      request.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const answer = (status: number, payload?: object) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(payload ? JSON.stringify(payload) : undefined);
    };
    if (state.sealed) return answer(503, { errors: ['Vault is sealed'] });
    if ((options.namespace ?? undefined) !== namespace) return answer(403, { errors: ['permission denied'] });
    let body: Record<string, unknown> = {};
    try {
      body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
    } catch {
      return answer(400, { errors: ['failed to parse JSON input'] });
    }
    const authRoute = authRoutes.get(url.pathname.slice('/v1/'.length));
    if (authRoute) {
      if (request.method !== 'POST') return answer(405, { errors: ['unsupported operation'] });
      try {
        const granted = authRoute(body, request.headers['x-vault-token']);
        return answer(200, {
          request_id: randomBytes(8).toString('hex'),
          lease_id: '',
          renewable: false,
          lease_duration: 0,
          data: null,
          wrap_info: null,
          warnings: null,
          auth: granted,
        });
      } catch (error) {
        if (error instanceof TransitError) return answer(error.status, { errors: [error.message] });
        return answer(500, { errors: ['internal error'] });
      }
    }
    if (!liveToken(request.headers['x-vault-token'])) return answer(403, { errors: ['permission denied'] });
    const prefix = `/v1/${mount}/`;
    if (!url.pathname.startsWith(prefix)) return answer(404, { errors: [`no handler for route "${url.pathname.slice(4)}"`] });
    const path = url.pathname.slice(prefix.length);
    for (const [method, pattern, run] of routes) {
      const match = pattern.exec(path);
      if (!match) continue;
      if (method !== request.method) return answer(405, { errors: ['unsupported operation'] });
      try {
        return answer(200, { request_id: randomBytes(8).toString('hex'), data: run(match, body) });
      } catch (error) {
        if (error instanceof TransitError) return answer(error.status, { errors: error.message ? [error.message] : [] });
        return answer(500, { errors: ['internal error'] });
      }
    }
    return answer(404, { errors: [`no handler for route "${mount}/${path}"`] });
  }

  const server = createServer((request, response) => void handle(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `http://127.0.0.1:${port}`,
    state,
    key: (name = options.key ?? 'fleetgate') => keys.get(name),
    /** Ends every issued token's lease now, as Vault does at expiry or on revocation. */
    expireTokens: () => {
      for (const lease of issued.values()) lease.expiresAt = 0;
    },
    /** Every token issued so far. */
    issuedTokens: () => [...issued.keys()],
    /** Issued tokens whose lease has not ended. */
    liveTokens: () => [...issued].filter(([, lease]) => Date.now() < lease.expiresAt).map(([token]) => token),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type TransitServer = Awaited<ReturnType<typeof startTransitServer>>;

class TransitError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
