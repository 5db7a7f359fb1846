import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { aadOf, EnvelopeIntegrityError, type KeyProvider, LocalKeyProvider, open, type SealBinding, seal } from '../src/keys/index.ts';
import { createLogger } from '../src/shared/logger.ts';

let dir: string;
let provider: KeyProvider;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetgate-envelope-'));
  provider = await LocalKeyProvider.open(dir, createLogger({ level: 'silent' }));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const binding: SealBinding = {
  tenantId: '0190a0a0-0000-7000-8000-00000000000a',
  agentId: '0190a0a0-0000-7000-8000-0000000000a1',
  credentialId: '0190a0a0-0000-7000-8000-0000000000c1',
  version: 1,
};
const value = Buffer.from('canary-envelope-0123456789');

describe('envelope encryption', () => {
  test('a sealed value opens under its own binding and holds no plaintext', async () => {
    const sealed = await seal(provider, binding, value);
    expect(sealed.nonce).toHaveLength(12);
    expect(sealed.ciphertext).toHaveLength(value.length + 16);
    expect(sealed.ciphertext.includes(value)).toBe(false);
    expect(sealed.wrappedKey).toMatch(/^local:v1:/);
    expect(sealed.keyVersion).toBe(1);
    expect(sealed.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect((await open(provider, binding, sealed)).equals(value)).toBe(true);
  });

  test('every seal has a fresh data key, nonce and fingerprint', async () => {
    const [a, b] = await Promise.all([seal(provider, binding, value), seal(provider, binding, value)]);
    expect(a.nonce.equals(b.nonce)).toBe(false);
    expect(a.wrappedKey).not.toBe(b.wrappedKey);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
    // Keyed by the data key, not a hash of the value: the same value does not give the same fingerprint.
    expect(a.fingerprint).not.toBe(b.fingerprint);
  });

  test.each([
    ['another tenant', { tenantId: '0190a0a0-0000-7000-8000-00000000000b' }],
    ['another agent of the same tenant', { agentId: '0190a0a0-0000-7000-8000-0000000000a2' }],
    ['another credential', { credentialId: '0190a0a0-0000-7000-8000-0000000000c2' }],
    ['another version', { version: 2 }],
  ])('a ciphertext moved to %s fails to decrypt', async (_name, change) => {
    const sealed = await seal(provider, binding, value);
    await expect(open(provider, { ...binding, ...change }, sealed)).rejects.toBeInstanceOf(EnvelopeIntegrityError);
  });

  test('an edited ciphertext, nonce or swapped data key fails to decrypt', async () => {
    const sealed = await seal(provider, binding, value);
    const other = await seal(provider, binding, value);
    const flipped = Buffer.from(sealed.ciphertext);
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    await expect(open(provider, binding, { ...sealed, ciphertext: flipped })).rejects.toBeInstanceOf(EnvelopeIntegrityError);
    await expect(open(provider, binding, { ...sealed, nonce: other.nonce })).rejects.toBeInstanceOf(EnvelopeIntegrityError);
    await expect(open(provider, binding, { ...sealed, wrappedKey: other.wrappedKey })).rejects.toBeInstanceOf(EnvelopeIntegrityError);
  });

  test('the AAD encoding is unambiguous (length-prefixed fields)', () => {
    const a = aadOf({ ...binding, tenantId: 'ab', agentId: 'c' });
    const b = aadOf({ ...binding, tenantId: 'a', agentId: 'bc' });
    expect(a.equals(b)).toBe(false);
  });

  test('the data key handed out by the provider is zeroed after sealing and opening', async () => {
    const handedOut: Buffer[] = [];
    const spy: KeyProvider = {
      ...provider,
      kind: provider.kind,
      versionOf: (wrapped) => provider.versionOf(wrapped),
      generateDataKey: async () => {
        const key = await provider.generateDataKey();
        handedOut.push(key.plaintext);
        return key;
      },
      unwrapDataKey: async (wrapped) => {
        const key = await provider.unwrapDataKey(wrapped);
        handedOut.push(key);
        return key;
      },
    };
    const sealed = await seal(spy, binding, value);
    await open(spy, binding, sealed);
    await expect(open(spy, { ...binding, version: 9 }, sealed)).rejects.toThrow();
    expect(handedOut).toHaveLength(3);
    for (const key of handedOut) expect(key.equals(Buffer.alloc(32))).toBe(true);
  });
});
