import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';

/**
 * The one AES-256-GCM in Fleetgate: every value sealed at rest (credential envelopes, the local
 * keyring's wrapped data keys, agent memory, shared handoffs and files, tenant backups) is sealed
 * and opened here, with a fresh random 96-bit nonce, a 16-byte tag and additional authenticated data
 * (AAD) that binds the ciphertext to where it belongs.
 *
 * The formats stay where they are defined, each versioned by a label in its AAD, and each keeps its
 * byte layout so stored ciphertexts still open:
 *
 * | format | AAD | layout |
 * |---|---|---|
 * | credential (keys/envelope.ts) | `versionedAad('fleetgate.credential.v1', …)` | nonce column; `ciphertext‖tag` |
 * | local KEK wrap (keys/local-key-provider.ts) | `fleetgate.kek:v<N>` | `local:v<N>:` base64 `nonce‖ciphertext‖tag` |
 * | memory, sharing (modules/memory/memory-crypto.ts) | `fleetgate-memory-v1`/`fleetgate-sharing-v1` and NUL-joined ids | `nonce‖tag‖ciphertext` |
 * | backup archive (modules/enterprise/backup.service.ts) | `fleetgate-backup-v1\n<tenant>\n<time>` | JSON fields iv, tag, ciphertext |
 *
 * A new format takes a new label, `versionedAad` for its AAD and one of the {@link Layout}s.
 */

export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;

/** A sealed value in its three parts. */
export interface AeadParts {
  nonce: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

/** How the parts are laid out in one buffer, as each stored format has always had them. */
export type Layout = 'nonce|ciphertext|tag' | 'nonce|tag|ciphertext';

/**
 * The sealed value did not open: wrong key, wrong AAD, any changed byte, or a truncated or malformed
 * input. Carries nothing of the key, the AAD or the data; callers turn it into their own refusal.
 */
export class AeadError extends Error {
  override name = 'AeadError';
  constructor() {
    super('sealed data failed its integrity check');
  }
}

/** Seals `plaintext` under a 32-byte key with a fresh random nonce. The caller zeroes `key` after use. */
export function sealParts(key: Buffer, plaintext: Buffer, aad: Buffer): AeadParts {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', aesKey(key), nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { nonce, ciphertext, tag: cipher.getAuthTag() };
}

/**
 * The plaintext of sealed parts, or {@link AeadError}. A nonce or tag of another length is refused
 * before deciphering: GCM would otherwise accept a shortened tag. A key that is not 32 bytes is the
 * caller's fault, not the data's: a RangeError. The caller zeroes `key` (and the plaintext, when
 * secret) after use.
 */
export function openParts(key: Buffer, parts: AeadParts, aad: Buffer): Buffer {
  const keyObject = aesKey(key);
  if (parts.nonce.length !== NONCE_BYTES || parts.tag.length !== TAG_BYTES) throw new AeadError();
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyObject, parts.nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(parts.tag);
    return Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]);
  } catch {
    throw new AeadError();
  }
}

/** Seals into one buffer laid out as `layout`. */
export function seal(key: Buffer, plaintext: Buffer, aad: Buffer, layout: Layout): Buffer {
  return pack(sealParts(key, plaintext, aad), layout);
}

/** Opens one buffer laid out as `layout`; {@link AeadError} when it is too short to hold a nonce and a tag. */
export function open(key: Buffer, sealed: Buffer, aad: Buffer, layout: Layout): Buffer {
  return openParts(key, unpack(sealed, layout), aad);
}

export function pack({ nonce, ciphertext, tag }: AeadParts, layout: Layout): Buffer {
  return Buffer.concat(layout === 'nonce|ciphertext|tag' ? [nonce, ciphertext, tag] : [nonce, tag, ciphertext]);
}

export function unpack(sealed: Buffer, layout: Layout): AeadParts {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new AeadError();
  const nonce = sealed.subarray(0, NONCE_BYTES);
  if (layout === 'nonce|ciphertext|tag') {
    return { nonce, ciphertext: sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES), tag: sealed.subarray(sealed.length - TAG_BYTES) };
  }
  return { nonce, tag: sealed.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES), ciphertext: sealed.subarray(NONCE_BYTES + TAG_BYTES) };
}

/**
 * AAD for a versioned format: the label (e.g. `fleetgate.credential.v1`) then each field, every one
 * as a 4-byte big-endian length and its UTF-8 bytes, so no two different lists of fields encode alike.
 */
export function versionedAad(label: string, ...fields: string[]): Buffer {
  return Buffer.concat(
    [label, ...fields].map((field) => {
      const bytes = Buffer.from(field, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      return Buffer.concat([length, bytes]);
    }),
  );
}

/**
 * A raw AES key as the KeyObject `createCipheriv`/`createDecipheriv` are given. Node 24 tells a key
 * argument's kind by trying `isKeyObject` then `isCryptoKey`, each of which throws and catches a
 * TypeError for a plain Buffer: about 15 µs per cipher on these machines (more under a request's deep
 * async stack; 8% of the gateway's CPU in the memory benchmark), against 1.6 µs to make the KeyObject.
 * The KeyObject holds its own copy: a caller zeroing the Buffer afterwards still should.
 */
function aesKey(raw: Buffer): KeyObject {
  if (raw.length !== KEY_BYTES) throw new RangeError('an AES-256 key is 32 bytes');
  return createSecretKey(raw);
}
