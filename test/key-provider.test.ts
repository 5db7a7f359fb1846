import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { type KeyProvider, KeyProviderUnavailableError, LocalKeyProvider, VaultKeyProvider } from '../src/keys/index.ts';
import { Secret } from '../src/shared/secret.ts';
import { capturedLogger } from './support/captured-logger.ts';
import { startTransitServer, type TransitServer } from './support/vault-transit.ts';

const { log, text: logText } = capturedLogger();
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

const VAULT_TOKEN = `hvs.test-token-${Math.random().toString(36).slice(2)}`;

async function localProvider() {
  const dir = await mkdtemp(join(tmpdir(), 'fleetgate-kek-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return { provider: (await LocalKeyProvider.open(join(dir, 'keyring'), log)) as KeyProvider, dir };
}

async function vaultProvider(namespace?: string) {
  const server = await startTransitServer({ token: VAULT_TOKEN, namespace });
  cleanups.push(server.close);
  const provider = new VaultKeyProvider({ address: server.address, token: new Secret(VAULT_TOKEN), namespace, key: 'fleetgate', log });
  return { provider: provider as KeyProvider, server };
}

/** The contract every provider keeps; the same suite runs against both. */
describe.each([
  ['local', async () => (await localProvider()).provider, /^local:v(\d+):/],
  ['vault', async () => (await vaultProvider()).provider, /^vault:v(\d+):/],
])('key provider contract: %s', (_kind, make, prefix) => {
  test('a fresh 256-bit data key unwraps to itself; every call gives another', async () => {
    const provider = await make();
    const a = await provider.generateDataKey();
    const b = await provider.generateDataKey();
    expect(a.plaintext).toHaveLength(32);
    expect(a.plaintext.equals(b.plaintext)).toBe(false);
    expect(a.wrapped).toMatch(prefix);
    expect(a.wrapped).not.toContain(a.plaintext.toString('base64'));
    expect((await provider.unwrapDataKey(a.wrapped)).equals(a.plaintext)).toBe(true);
    expect(provider.versionOf(a.wrapped)).toBe(1);
  });

  test('rotation: new keys use the new version, old ones still unwrap and rewrap to it', async () => {
    const provider = await make();
    const old = await provider.generateDataKey();
    expect(await provider.rotate()).toBe(2);
    expect(await provider.status()).toEqual({ latestVersion: 2, minDecryptionVersion: 1 });
    const fresh = await provider.generateDataKey();
    expect(provider.versionOf(fresh.wrapped)).toBe(2);
    expect((await provider.unwrapDataKey(old.wrapped)).equals(old.plaintext)).toBe(true);
    const rewrapped = await provider.rewrapDataKey(old.wrapped);
    expect(provider.versionOf(rewrapped)).toBe(2);
    expect((await provider.unwrapDataKey(rewrapped)).equals(old.plaintext)).toBe(true);
  });

  test('retired versions no longer unwrap; rewrapped keys do', async () => {
    const provider = await make();
    const old = await provider.generateDataKey();
    await provider.rotate();
    const rewrapped = await provider.rewrapDataKey(old.wrapped);
    await provider.retireBelow(2);
    expect(await provider.status()).toEqual({ latestVersion: 2, minDecryptionVersion: 2 });
    await expect(provider.unwrapDataKey(old.wrapped)).rejects.toBeInstanceOf(KeyProviderUnavailableError);
    await expect(provider.rewrapDataKey(old.wrapped)).rejects.toBeInstanceOf(KeyProviderUnavailableError);
    expect((await provider.unwrapDataKey(rewrapped)).equals(old.plaintext)).toBe(true);
    await expect(provider.retireBelow(3)).rejects.toThrow();
  });

  test('an edited or foreign wrapped key is refused, and the error carries no key material', async () => {
    const provider = await make();
    const key = await provider.generateDataKey();
    const [head, body = ''] = [key.wrapped.slice(0, key.wrapped.lastIndexOf(':') + 1), key.wrapped.slice(key.wrapped.lastIndexOf(':') + 1)];
    const raw = Buffer.from(body, 'base64');
    raw[20] = (raw[20] ?? 0) ^ 1;
    const error = await provider.unwrapDataKey(head + raw.toString('base64')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyProviderUnavailableError);
    expect(String((error as Error).message)).not.toContain(body);
    expect(String((error as Error).message)).not.toContain(key.plaintext.toString('base64'));
    await expect(provider.unwrapDataKey('garbage')).rejects.toBeInstanceOf(KeyProviderUnavailableError);
  });
});

describe('local provider', () => {
  test('kek.json is created 0600 in a 0700 directory, survives reopening, and retiring destroys old key material', async () => {
    const { provider, dir } = await localProvider();
    const path = join(dir, 'keyring', 'kek.json');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'keyring'))).mode & 0o777).toBe(0o700);
    const key = await provider.generateDataKey();
    const reopened = await LocalKeyProvider.open(join(dir, 'keyring'), log);
    expect((await reopened.unwrapDataKey(key.wrapped)).equals(key.plaintext)).toBe(true);

    await provider.rotate();
    const v1 = JSON.parse(await readFile(path, 'utf8')).keys['1'].key as string;
    await provider.retireBelow(2);
    const file = JSON.parse(await readFile(path, 'utf8'));
    expect(Object.keys(file.keys)).toEqual(['2']);
    expect(await readFile(path, 'utf8')).not.toContain(v1);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readdir(join(dir, 'keyring'))).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    // Another process's provider learns of a newer version by re-reading the file.
    const fresh = await provider.generateDataKey();
    expect((await reopened.unwrapDataKey(fresh.wrapped)).equals(fresh.plaintext)).toBe(true);
  });

  test('concurrent rotations each get their own version', async () => {
    const { provider } = await localProvider();
    const versions = await Promise.all([provider.rotate(), provider.rotate(), provider.rotate()]);
    expect(versions.sort()).toEqual([2, 3, 4]);
  });
});

describe('vault provider', () => {
  let server: TransitServer;
  let provider: KeyProvider;

  test('sends the token and the namespace, and speaks the documented paths', async () => {
    ({ provider, server } = await vaultProvider('team-a/'));
    const key = await provider.generateDataKey();
    await provider.unwrapDataKey(key.wrapped);
    await provider.rotate();
    await provider.rewrapDataKey(key.wrapped);
    await provider.retireBelow(2);
    expect(server.state.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1/transit/datakey/plaintext/fleetgate',
      'POST /v1/transit/decrypt/fleetgate',
      'POST /v1/transit/keys/fleetgate/rotate',
      'GET /v1/transit/keys/fleetgate',
      'POST /v1/transit/rewrap/fleetgate',
      'POST /v1/transit/keys/fleetgate/config',
    ]);
    expect(server.state.requests.every((r) => r.namespace === 'team-a/')).toBe(true);
  });

  test('a wrong token is denied (403): fails closed, naming the cause, never the token', async () => {
    const { server } = await vaultProvider();
    const wrong = new VaultKeyProvider({ address: server.address, token: new Secret('hvs.wrong-token-123456'), key: 'fleetgate', log });
    const error = (await wrong.generateDataKey().catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(KeyProviderUnavailableError);
    expect(error.message).toBe('key provider vault unavailable: permission denied');
  });

  test('sealed (503) and unreachable fail closed', async () => {
    const { provider, server } = await vaultProvider();
    const key = await provider.generateDataKey();
    server.state.sealed = true;
    await expect(provider.unwrapDataKey(key.wrapped)).rejects.toThrow('key provider vault unavailable: sealed or unavailable');
    await expect(provider.generateDataKey()).rejects.toBeInstanceOf(KeyProviderUnavailableError);
    server.state.sealed = false;
    await server.close();
    await expect(provider.unwrapDataKey(key.wrapped)).rejects.toThrow('key provider vault unavailable: unreachable');
  });

  test('no log line holds the token', () => {
    const text = logText();
    expect(text).toContain('vault call failed');
    expect(text).not.toContain(VAULT_TOKEN);
  });
});
