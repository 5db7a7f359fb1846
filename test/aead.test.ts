import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { aead, EnvelopeIntegrityError, fingerprintOf, LocalKeyProvider, open } from '../src/keys/index.ts';
import { openArchiveBody } from '../src/modules/enterprise/backup.service.ts';
import { aadOf as memoryAad, openValue } from '../src/modules/memory/memory-crypto.ts';
import { createLogger } from '../src/shared/logger.ts';

/** Test fixtures, derived from labels: not secrets of any deployment. */
const fixtureKey = (label: string) => createHash('sha256').update(`fleetgate test fixture: ${label}`).digest();
const key = fixtureKey('data key');
const aad = Buffer.from('fleetgate.test.v1');
const plaintext = Buffer.from('canary-aead-0123456789');
const layouts: aead.Layout[] = ['nonce|ciphertext|tag', 'nonce|tag|ciphertext'];

function flip(buffer: Buffer, index: number): Buffer {
  const copy = Buffer.from(buffer);
  copy[index] = (copy[index] ?? 0) ^ 0x01;
  return copy;
}

describe('the AEAD helper (AES-256-GCM)', () => {
  test.each(layouts)('a value sealed in layout %s opens with its key and AAD, and holds no plaintext', (layout) => {
    const sealed = aead.seal(key, plaintext, aad, layout);
    expect(sealed).toHaveLength(aead.NONCE_BYTES + plaintext.length + aead.TAG_BYTES);
    expect(sealed.includes(plaintext)).toBe(false);
    expect(aead.open(key, sealed, aad, layout)).toEqual(plaintext);
    expect(aead.open(key, aead.seal(key, Buffer.alloc(0), aad, layout), aad, layout)).toEqual(Buffer.alloc(0));
  });

  test('every seal takes a fresh nonce: the same value sealed twice differs', () => {
    const one = aead.sealParts(key, plaintext, aad);
    const two = aead.sealParts(key, plaintext, aad);
    expect(one.nonce.equals(two.nonce)).toBe(false);
    expect(one.ciphertext.equals(two.ciphertext)).toBe(false);
  });

  test.each(layouts)('changing any single byte of a value sealed in layout %s makes it fail to open', (layout) => {
    const sealed = aead.seal(key, plaintext, aad, layout);
    for (let index = 0; index < sealed.length; index++) {
      expect(() => aead.open(key, flip(sealed, index), aad, layout), `byte ${index}`).toThrow(aead.AeadError);
    }
  });

  test.each(layouts)('a value sealed in layout %s fails to open under another AAD or another key', (layout) => {
    const sealed = aead.seal(key, plaintext, aad, layout);
    expect(() => aead.open(key, sealed, Buffer.from('fleetgate.test.v2'), layout)).toThrow(aead.AeadError);
    expect(() => aead.open(key, sealed, Buffer.alloc(0), layout)).toThrow(aead.AeadError);
    expect(() => aead.open(key, sealed, flip(aad, aad.length - 1), layout)).toThrow(aead.AeadError);
    expect(() => aead.open(fixtureKey('another key'), sealed, aad, layout)).toThrow(aead.AeadError);
  });

  test.each(layouts)('every truncation of a value sealed in layout %s fails to open', (layout) => {
    const sealed = aead.seal(key, plaintext, aad, layout);
    for (let length = 0; length < sealed.length; length++) {
      expect(() => aead.open(key, sealed.subarray(0, length), aad, layout), `${length} bytes`).toThrow(aead.AeadError);
      expect(() => aead.open(key, sealed.subarray(sealed.length - length), aad, layout), `last ${length} bytes`).toThrow(aead.AeadError);
    }
  });

  test('a shortened tag or a nonce of another length is refused, though GCM itself would take them', () => {
    const parts = aead.sealParts(key, plaintext, aad);
    for (const tagLength of [4, 8, 12, 15]) {
      expect(() => aead.openParts(key, { ...parts, tag: parts.tag.subarray(0, tagLength) }, aad)).toThrow(aead.AeadError);
    }
    expect(() => aead.openParts(key, { ...parts, nonce: Buffer.concat([parts.nonce, Buffer.alloc(4)]) }, aad)).toThrow(aead.AeadError);
    expect(aead.openParts(key, parts, aad)).toEqual(plaintext);
  });

  test('a key that is not 32 bytes is refused', () => {
    expect(() => aead.sealParts(key.subarray(0, 16), plaintext, aad)).toThrow(RangeError);
    expect(() => aead.openParts(key.subarray(0, 16), aead.sealParts(key, plaintext, aad), aad)).toThrow(RangeError);
  });

  test('versioned AAD is the label and each field, length-prefixed, so no two field lists encode alike', () => {
    expect(aead.versionedAad('v1', 'ab', 'c').toString('hex')).toBe('00000002763100000002616200000001' + '63');
    expect(aead.versionedAad('v1', 'ab', 'c').equals(aead.versionedAad('v1', 'a', 'bc'))).toBe(false);
    expect(aead.versionedAad('v1', 'a').equals(aead.versionedAad('v1a'))).toBe(false);
  });
});

/**
 * Ciphertexts written by the code before the keys module (one per stored format), so a database, a
 * keyring or an archive written then still opens: each format kept its AAD and its byte layout.
 */
describe('formats sealed before the AEAD helper still open', () => {
  const ids = {
    tenantId: '0190a0a0-0000-7000-8000-00000000000a',
    agentId: '0190a0a0-0000-7000-8000-0000000000a1',
    credentialId: '0190a0a0-0000-7000-8000-0000000000c1',
  };
  let dir: string | undefined;
  afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

  test('a credential sealed under a data key wrapped by the local keyring opens, with the same fingerprint', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetgate-aead-'));
    const kek = { key: fixtureKey('kek v1').toString('base64'), createdAt: '2026-12-04T00:00:00.000Z' };
    await writeFile(join(dir, 'kek.json'), JSON.stringify({ format: 1, latestVersion: 1, minDecryptionVersion: 1, keys: { 1: kek } }), {
      mode: 0o600,
    });
    const provider = await LocalKeyProvider.open(dir, createLogger({ level: 'silent' }));
    const binding = { ...ids, version: 3 };
    const sealed = {
      ciphertext: Buffer.from('+U5OufUZsMlIMgrIIPyhoZpE6s4RlafO8GUwk5mZ4BpW4MEgkW1laA==', 'base64'),
      nonce: Buffer.from('Oq8+6ofV5dmmHAul', 'base64'),
      wrappedKey: 'local:v1:sldqeOiVUXhvn2L63SD24uUmEZRM7mIMa77C+OK8a9zoZfNiOWMOphPybLv13C6SpEhwnlId4ITmzF5q',
    };
    const value = await open(provider, binding, sealed);
    expect(value.toString()).toBe('canary-credential-golden');
    const dataKey = await provider.unwrapDataKey(sealed.wrappedKey);
    expect(fingerprintOf(dataKey, value)).toBe('b00b0c446b6d8cff');
    await expect(open(provider, { ...binding, version: 4 }, sealed)).rejects.toThrow(EnvelopeIntegrityError);
    await expect(open(provider, binding, { ...sealed, ciphertext: flip(sealed.ciphertext, 0) })).rejects.toThrow(EnvelopeIntegrityError);
  });

  test('a memory value and a shared handoff open', () => {
    const memory = Buffer.from('xfJ7miwwopG48m7Yi7PQlHc3p5Vqp3K09GNRIhMKdB/bOgov2kQoGZYJ5kWYfYG1', 'base64');
    expect(openValue(key, memoryAad(ids.tenantId, ids.agentId, 'notes'), memory)).toBe('canary-memory-golden');
    expect(() => openValue(key, memoryAad(ids.tenantId, ids.agentId, 'other'), memory)).toThrow(aead.AeadError);
    const sharing = Buffer.from('qbJQGCDisMdsdjZhDFN/MQqdt6wW7asM3djDY7BRC5xMNGnRTFtNmJ3uoX0vcuw6Qg==', 'base64');
    const sharingAad = `fleetgate-sharing-v1\u0000${ids.tenantId}\u0000handoff\u0000${ids.credentialId}`;
    expect(openValue(key, sharingAad, sharing)).toBe('canary-sharing-golden');
  });

  test('a backup archive body opens, and not once relabelled for another time', () => {
    const archive = {
      tenantId: ids.tenantId,
      createdAt: '2026-12-04T10:11:12.345Z',
      iv: 'DW6CustLd/VuA93S',
      tag: '7KivrmIYs6ewQKsJ8Sl1IA==',
      ciphertext: 't1v8DQStF+/1CCzPZrplG1DcESI=',
    };
    expect(openArchiveBody(key, archive).toString()).toBe('canary-backup-golden');
    expect(() => openArchiveBody(key, { ...archive, createdAt: '2026-12-04T10:11:12.346Z' })).toThrow(aead.AeadError);
  });
});
