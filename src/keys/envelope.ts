import { createHmac, hkdfSync } from 'node:crypto';
import { AeadError, NONCE_BYTES, openParts, sealParts, TAG_BYTES, versionedAad } from './aead.ts';
import type { KeyProvider } from './key-provider.ts';

/** Where a sealed value belongs. All four are bound into the ciphertext as additional authenticated data. */
export interface SealBinding {
  tenantId: string;
  agentId: string;
  credentialId: string;
  version: number;
}

/** What is stored: never the data key in the clear, never the value. */
export interface Sealed {
  /** AES-256-GCM ciphertext followed by its 16-byte tag. */
  ciphertext: Buffer;
  /** 96 random bits, fresh per seal. */
  nonce: Buffer;
  /** The data key wrapped by the provider's KEK. */
  wrappedKey: string;
  keyVersion: number;
  /** 16 hex characters: an HMAC of the value under a key derived from its data key (see fingerprintOf). */
  fingerprint: string;
}

/** The value did not decrypt for this binding: moved to another row, edited, or wrapped by another key. */
export class EnvelopeIntegrityError extends Error {
  override name = 'EnvelopeIntegrityError';
  constructor() {
    super('sealed value failed its integrity check');
  }
}

/**
 * The additional authenticated data: a versioned, length-prefixed encoding of the binding, so no two
 * bindings encode alike and a ciphertext copied to another tenant's, agent's or credential's row
 * (or replayed as another version) fails authentication.
 */
export function aadOf(binding: SealBinding): Buffer {
  return versionedAad('fleetgate.credential.v1', binding.tenantId, binding.agentId, binding.credentialId, String(binding.version));
}

/**
 * Envelope encryption of one value: a fresh data key from the provider, AES-256-GCM with a random
 * 96-bit nonce and the binding as AAD. The data key's plaintext is zeroed before returning, whatever happens.
 */
export async function seal(provider: KeyProvider, binding: SealBinding, plaintext: Buffer): Promise<Sealed> {
  const { plaintext: dataKey, wrapped } = await provider.generateDataKey();
  try {
    const { nonce, ciphertext, tag } = sealParts(dataKey, plaintext, aadOf(binding));
    return {
      ciphertext: Buffer.concat([ciphertext, tag]),
      nonce,
      wrappedKey: wrapped,
      keyVersion: provider.versionOf(wrapped),
      fingerprint: fingerprintOf(dataKey, plaintext),
    };
  } finally {
    dataKey.fill(0);
  }
}

/** The value of a sealed row; throws EnvelopeIntegrityError when it does not belong to `binding`. Zero the result after use. */
export async function open(
  provider: KeyProvider,
  binding: SealBinding,
  sealed: Pick<Sealed, 'ciphertext' | 'nonce' | 'wrappedKey'>,
): Promise<Buffer> {
  const dataKey = await provider.unwrapDataKey(sealed.wrappedKey);
  try {
    if (sealed.nonce.length !== NONCE_BYTES || sealed.ciphertext.length < TAG_BYTES) throw new EnvelopeIntegrityError();
    const { nonce, ciphertext } = sealed;
    const parts = {
      nonce,
      ciphertext: ciphertext.subarray(0, ciphertext.length - TAG_BYTES),
      tag: ciphertext.subarray(ciphertext.length - TAG_BYTES),
    };
    try {
      return openParts(dataKey, parts, aadOf(binding));
    } catch (error) {
      throw error instanceof AeadError ? new EnvelopeIntegrityError() : error;
    }
  } finally {
    dataKey.fill(0);
  }
}

/**
 * A short fingerprint that tells versions apart without revealing anything about the value: an
 * HMAC-SHA256 under a key derived (HKDF) from the value's own data key. A database dump cannot be
 * used to test guesses of the value, since the data key never leaves the provider unwrapped.
 */
export function fingerprintOf(dataKey: Buffer, plaintext: Buffer): string {
  const macKey = Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), 'fleetgate.credential.fingerprint', 32));
  try {
    return createHmac('sha256', macKey).update(plaintext).digest('hex').slice(0, 16);
  } finally {
    macKey.fill(0);
  }
}
