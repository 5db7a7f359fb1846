import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { KeyProviderUnavailableError } from '../src/keys/key-provider.ts';
import { openKeyProvider } from '../src/keys/open-key-provider.ts';
import type { VaultAuthMethod } from '../src/keys/vault-auth.ts';
import { VaultKeyProvider } from '../src/keys/vault-key-provider.ts';
import { Secret } from '../src/shared/secret.ts';
import { capturedLogger } from './support/captured-logger.ts';
import { SetCredential } from './support/credential-operations.ts';
import { startGateway } from './support/gateway.ts';
import { startTransitServer, type TransitServer } from './support/vault-transit.ts';

/**
 * Vault AppRole and Kubernetes auth against the in-test Vault (test/support/vault-transit.ts): login,
 * renewal at 2/3 of the lease, a fresh login near the max TTL and after the server ends the token,
 * `/readyz` unready while no login succeeds, credential operations refused meanwhile, and no
 * secret id, JWT or token in any log line or error.
 */
const { log, text: logText } = capturedLogger();
const unique = () => Math.random().toString(36).slice(2);
const ROLE_ID = `role-${unique()}`;
const SECRET_ID = `secret-id-${unique()}-${unique()}`;
const JWT = `eyJhbGciOiJSUzI1NiJ9.${unique()}${unique()}.sig-${unique()}`;
const STATIC_TOKEN = `hvs.static-${unique()}`;

const cleanups: (() => Promise<unknown> | unknown)[] = [];
const servers: TransitServer[] = [];
/** Every error a provider threw in this file, checked for secrets at the end. */
const errors: string[] = [];
let dir: string;

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  dir ??= await mkdtemp(join(tmpdir(), 'fleetgate-vault-auth-'));
  return dir;
}

async function vault(auth: NonNullable<Parameters<typeof startTransitServer>[0]['auth']>) {
  const server = await startTransitServer({ token: STATIC_TOKEN, auth });
  servers.push(server);
  cleanups.push(server.close);
  return server;
}

function provider(server: TransitServer, auth: VaultAuthMethod, retry = { first: 100, max: 400 }) {
  const made = new VaultKeyProvider({ address: server.address, auth, key: 'fleetgate', log, loginRetryMs: retry });
  cleanups.push(() => made.close());
  return made;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = (await promise.then(
    () => undefined,
    (e: unknown) => e,
  )) as Error;
  expect(error).toBeInstanceOf(KeyProviderUnavailableError);
  errors.push(`${error.message}\n${error.stack ?? ''}`);
  return error;
}

const paths = (server: TransitServer) => server.state.requests.map((r) => `${r.method} ${r.path}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(50);
  }
}

describe('login', () => {
  test('AppRole: role_id and secret_id at the default mount; Transit then runs on the issued token', async () => {
    const server = await vault({ approle: { roleId: ROLE_ID, secretId: SECRET_ID } });
    const vaultKeys = provider(server, { kind: 'approle', roleId: ROLE_ID, secretId: new Secret(SECRET_ID) });
    const key = await vaultKeys.generateDataKey();
    expect((await vaultKeys.unwrapDataKey(key.wrapped)).equals(key.plaintext)).toBe(true);
    expect(paths(server)).toEqual([
      'POST /v1/auth/approle/login',
      'POST /v1/transit/datakey/plaintext/fleetgate',
      'POST /v1/transit/decrypt/fleetgate',
    ]);
    expect(server.state.logins).toBe(1);
    expect(vaultKeys.session.authenticated).toBe(true);
  });

  test('AppRole at another mount, the secret id read from its file at every login (so it can be replaced)', async () => {
    const file = join(await tempDir(), 'secret-id');
    await writeFile(file, `${SECRET_ID}\n`, { mode: 0o600 });
    const server = await vault({ approle: { roleId: ROLE_ID, secretId: SECRET_ID, mount: 'ops/approle' } });
    const vaultKeys = provider(server, { kind: 'approle', mount: 'ops/approle', roleId: ROLE_ID, secretId: { file } });
    await vaultKeys.generateDataKey();
    expect(paths(server)[0]).toBe('POST /v1/auth/ops/approle/login');

    await writeFile(file, 'a-secret-id-vault-never-issued');
    await sleep(150); // older than the first retry delay: a 403 now means the token ended, not a policy denial
    server.expireTokens();
    const error = await failure(vaultKeys.generateDataKey());
    expect(error.message).toBe(
      'key provider vault unavailable: not authenticated (approle login: rejected (HTTP 400: invalid role or credentials))',
    );
  });

  test('Kubernetes: role and the service account JWT from its file; a wrong JWT is denied, naming no secret', async () => {
    const file = join(await tempDir(), 'token');
    await writeFile(file, JWT);
    const server = await vault({ kubernetes: { role: 'fleetgate', jwt: JWT } });
    const vaultKeys = provider(server, { kind: 'kubernetes', role: 'fleetgate', jwtFile: file });
    await vaultKeys.generateDataKey();
    expect(paths(server).slice(0, 2)).toEqual(['POST /v1/auth/kubernetes/login', 'POST /v1/transit/datakey/plaintext/fleetgate']);

    const wrongJwt = join(await tempDir(), 'other-token');
    await writeFile(wrongJwt, `${JWT}x`);
    const denied = provider(server, { kind: 'kubernetes', role: 'fleetgate', jwtFile: wrongJwt });
    expect((await failure(denied.generateDataKey())).message).toBe(
      'key provider vault unavailable: not authenticated (kubernetes login: permission denied)',
    );
    const missing = provider(server, { kind: 'kubernetes', role: 'fleetgate', jwtFile: join(await tempDir(), 'absent') });
    expect((await failure(missing.status())).message).toMatch(
      /not authenticated \(kubernetes login: service account token file .*absent is unreadable\)$/,
    );
  });
});

describe('keeping the token alive', () => {
  test('renewed with renew-self at 2/3 of its lease, never logging in again while renewals succeed', async () => {
    const server = await vault({ approle: { roleId: ROLE_ID, secretId: SECRET_ID }, ttl: 3, maxTtl: 600 });
    const vaultKeys = provider(server, { kind: 'approle', roleId: ROLE_ID, secretId: new Secret(SECRET_ID) }).start();
    await until(() => vaultKeys.session.authenticated);
    const loggedInAt = Date.now();
    await until(() => server.state.renewals >= 1);
    const firstRenewalAfter = Date.now() - loggedInAt;
    expect(firstRenewalAfter).toBeGreaterThan(1_500); // 2/3 of 3 s
    expect(firstRenewalAfter).toBeLessThan(2_900); // before the lease ends
    await until(() => server.state.renewals >= 2);
    // Past the first lease's end (3 s): the same token still works, only renewed.
    expect(Date.now() - loggedInAt).toBeGreaterThan(3_000);
    await vaultKeys.generateDataKey();
    expect(server.state.logins).toBe(1);
    expect(paths(server).filter((p) => p === 'POST /v1/auth/token/renew-self').length).toBeGreaterThanOrEqual(2);
  });

  test('near the max TTL (a renewal granting less than the lease) it logs in again before the token ends, with no gap', async () => {
    const server = await vault({ approle: { roleId: ROLE_ID, secretId: SECRET_ID }, ttl: 3, maxTtl: 4 });
    const vaultKeys = provider(server, { kind: 'approle', roleId: ROLE_ID, secretId: new Secret(SECRET_ID) }).start();
    await until(() => vaultKeys.session.authenticated);
    const gaps: number[] = [];
    const watch = setInterval(() => {
      if (!vaultKeys.session.authenticated) gaps.push(Date.now());
    }, 50);
    try {
      await until(() => server.state.logins >= 2, 6_000);
    } finally {
      clearInterval(watch);
    }
    expect(server.state.renewals).toBe(1); // renewed once (capped at 2 s), then a fresh login at 2/3 of that
    expect(gaps).toEqual([]);
    await vaultKeys.generateDataKey();
  });

  test('the server ends the token (expiry, revocation): the next call gets 403, logs in again once and succeeds', async () => {
    const server = await vault({ kubernetes: { role: 'fleetgate', jwt: JWT } });
    const file = join(await tempDir(), 'token-2');
    await writeFile(file, JWT);
    const vaultKeys = provider(server, { kind: 'kubernetes', role: 'fleetgate', jwtFile: file });
    const key = await vaultKeys.generateDataKey();
    await sleep(150);
    server.expireTokens();
    server.state.requests.length = 0;
    const [a, b] = await Promise.all([vaultKeys.unwrapDataKey(key.wrapped), vaultKeys.unwrapDataKey(key.wrapped)]);
    expect(a.equals(key.plaintext) && b.equals(key.plaintext)).toBe(true);
    expect(server.state.logins).toBe(2); // one login for both calls that saw the stale token
    expect(paths(server).filter((p) => p.includes('/login'))).toEqual(['POST /v1/auth/kubernetes/login']);
  });

  test('a refused renewal turns the session unauthenticated until a login succeeds', async () => {
    const server = await vault({ approle: { roleId: ROLE_ID, secretId: SECRET_ID }, ttl: 2 });
    const vaultKeys = provider(server, { kind: 'approle', roleId: ROLE_ID, secretId: new Secret(SECRET_ID) }).start();
    await until(() => vaultKeys.session.authenticated);
    server.state.denyLogins = true;
    server.expireTokens(); // the renewal at ~1.3 s is refused, and so is the login after it
    await until(() => !vaultKeys.session.authenticated);
    expect((await failure(vaultKeys.generateDataKey())).message).toBe(
      'key provider vault unavailable: not authenticated (approle login: permission denied)',
    );
    server.state.denyLogins = false;
    await until(() => vaultKeys.session.authenticated, 3_000); // the retry (backoff 100–400 ms) logs in
    await vaultKeys.generateDataKey();
  });

  test('a 403 to a token fresher than the retry delay is a policy denial: no login per denied request', async () => {
    const server = await vault({ approle: { roleId: ROLE_ID, secretId: SECRET_ID } });
    const vaultKeys = provider(server, { kind: 'approle', roleId: ROLE_ID, secretId: new Secret(SECRET_ID) }, { first: 5_000, max: 5_000 });
    await vaultKeys.generateDataKey();
    server.expireTokens(); // stands in for a policy that denies the Transit path: 403 with a fresh token
    for (let i = 0; i < 3; i++) {
      expect((await failure(vaultKeys.generateDataKey())).message).toBe('key provider vault unavailable: permission denied');
    }
    expect(server.state.logins).toBe(1);
  });
});

describe('readiness and credential operations', () => {
  test('/readyz is unready while login fails and ready again after; credential operations answer SERVICE_UNAVAILABLE meanwhile', async () => {
    const server = await vault({ approle: { roleId: ROLE_ID, secretId: SECRET_ID } });
    server.state.denyLogins = true;
    const vaultKeys = provider(server, { kind: 'approle', roleId: ROLE_ID, secretId: new Secret(SECRET_ID) }, { first: 200, max: 200 });
    const gw = await startGateway({ keyProvider: vaultKeys.start() });
    cleanups.push(() => gw.close());
    const readyz = async () => {
      const response = await gw.yoga.fetch('http://gateway.test/readyz');
      return { status: response.status, body: (await response.json()) as { status: string; checks: Record<string, string> } };
    };
    await until(() => server.state.requests.some((r) => r.path === '/v1/auth/approle/login'));
    const unready = await readyz();
    expect(unready.status).toBe(503);
    expect(unready.body).toMatchObject({ status: 'not-ready', checks: { keyProviderLogin: 'down', database: 'ok' } });

    const acme = await gw.seed.tenant();
    const agent = (await acme.agent()).id;
    const secretValue = `sk-${unique()}`;
    const refused = await gw.execute(
      SetCredential,
      { agentId: agent, name: 'OPENAI_API_KEY', value: secretValue },
      { token: acme.ownerToken },
    );
    expect(refused.errors).toEqual([
      expect.objectContaining({
        message: 'The key provider is unavailable; credentials cannot be changed or used right now',
        extensions: { code: 'SERVICE_UNAVAILABLE' },
      }),
    ]);
    expect(JSON.stringify(refused)).not.toContain(secretValue);

    server.state.denyLogins = false;
    await until(async () => (await readyz()).status === 200);
    expect((await readyz()).body.checks.keyProviderLogin).toBe('ok');
    const { errors: none } = await gw.execute(
      SetCredential,
      { agentId: agent, name: 'OPENAI_API_KEY', value: secretValue },
      { token: acme.ownerToken },
    );
    expect(none).toBeUndefined();
    expect(logText()).toContain('vault login failed: credential operations fail closed until it succeeds');
    expect(gw.logs()).toContain('not authenticated (approle login: permission denied)');
    expect(gw.logs()).not.toContain(SECRET_ID);
  });
});

describe('configuration', () => {
  const base = { KEY_PROVIDER: 'vault', VAULT_ADDR: 'https://vault.internal:8200' };

  test('each method needs its settings and refuses another method’s, naming variables, never values', () => {
    const refusal = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (error) {
        errors.push((error as Error).message);
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(refusal({ ...base })).toBe('invalid configuration: VAULT_TOKEN (VAULT_AUTH=token needs VAULT_TOKEN)');
    expect(refusal({ ...base, VAULT_AUTH: 'approle', VAULT_SECRET_ID: SECRET_ID })).toBe(
      'invalid configuration: VAULT_ROLE_ID (VAULT_AUTH=approle needs VAULT_ROLE_ID)',
    );
    expect(
      refusal({ ...base, VAULT_AUTH: 'approle', VAULT_ROLE_ID: ROLE_ID, VAULT_SECRET_ID: SECRET_ID, VAULT_SECRET_ID_FILE: '/run/s' }),
    ).toBe('invalid configuration: VAULT_SECRET_ID (VAULT_AUTH=approle needs exactly one of VAULT_SECRET_ID and VAULT_SECRET_ID_FILE)');
    expect(refusal({ ...base, VAULT_AUTH: 'approle', VAULT_ROLE_ID: ROLE_ID, VAULT_SECRET_ID: SECRET_ID, VAULT_TOKEN: STATIC_TOKEN })).toBe(
      'invalid configuration: VAULT_TOKEN (VAULT_AUTH=approle logs in: unset VAULT_TOKEN)',
    );
    expect(refusal({ ...base, VAULT_AUTH: 'kubernetes' })).toBe(
      'invalid configuration: VAULT_K8S_ROLE (VAULT_AUTH=kubernetes needs VAULT_K8S_ROLE)',
    );
    expect(refusal({ ...base, VAULT_AUTH: 'kubernetes', VAULT_K8S_ROLE: 'fleetgate', VAULT_SECRET_ID: SECRET_ID })).toBe(
      'invalid configuration: VAULT_ROLE_ID (VAULT_ROLE_ID and VAULT_SECRET_ID(_FILE) are for VAULT_AUTH=approle, not kubernetes)',
    );
    expect(refusal({ ...base, VAULT_AUTH: 'ldap' })).toBe('invalid configuration: VAULT_AUTH');
    expect(refusal({ ...base, VAULT_AUTH: 'approle', VAULT_ROLE_ID: ROLE_ID, VAULT_SECRET_ID_FILE: '/run/secret-id' })).toBe('accepted');
    const k8s = loadConfig({ ...base, VAULT_AUTH: 'kubernetes', VAULT_K8S_ROLE: 'fleetgate' });
    expect([k8s.VAULT_K8S_JWT_FILE, k8s.VAULT_K8S_MOUNT, k8s.VAULT_APPROLE_MOUNT]).toEqual([
      '/var/run/secrets/kubernetes.io/serviceaccount/token',
      'kubernetes',
      'approle',
    ]);
  });

  test('at start, an unreadable credential file stops the gateway with its variable and path; a readable one logs in', async () => {
    const config = loadConfig({
      ...base,
      VAULT_AUTH: 'kubernetes',
      VAULT_K8S_ROLE: 'fleetgate',
      VAULT_K8S_JWT_FILE: join(await tempDir(), 'no-such-token'),
    });
    await expect(openKeyProvider(config, log)).rejects.toThrow(/^VAULT_K8S_JWT_FILE: .*no-such-token is not readable$/);

    const server = await vault({ approle: { roleId: ROLE_ID, secretId: SECRET_ID } });
    const file = join(await tempDir(), 'secret-id-start');
    await writeFile(file, SECRET_ID);
    const opened = await openKeyProvider(
      loadConfig({
        KEY_PROVIDER: 'vault',
        VAULT_ADDR: server.address,
        VAULT_AUTH: 'approle',
        VAULT_ROLE_ID: ROLE_ID,
        VAULT_SECRET_ID_FILE: file,
      }),
      log,
    );
    expect(opened).toBeInstanceOf(VaultKeyProvider);
    cleanups.push(() => (opened as VaultKeyProvider).close());
    await until(() => (opened as VaultKeyProvider).session.authenticated); // logged in at start, before any call
    expect(paths(server)).toEqual(['POST /v1/auth/approle/login']);
  });
});

describe('secrets', () => {
  test('no secret id, JWT or token (static or issued) in any log line or error', () => {
    const issued = servers.flatMap((server) => server.issuedTokens());
    expect(issued.length).toBeGreaterThan(5);
    const logs = logText();
    expect(logs).toContain('vault login done');
    expect(logs).toContain('vault token renewed');
    expect(errors.length).toBeGreaterThan(5);
    const everything = [logs, ...errors].join('\n');
    for (const secret of [SECRET_ID, JWT, STATIC_TOKEN, ...issued]) {
      expect(everything.includes(secret), `a log line or an error holds ${secret.slice(0, 12)}…`).toBe(false);
    }
  });
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});
