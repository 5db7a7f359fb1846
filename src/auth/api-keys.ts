import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Secret } from '../shared/secret.ts';

/**
 * API key format: `fgk_` + base64url(tenant id (16 bytes) | key id (16 bytes) | secret (32 bytes)).
 * The tenant and key ids inside the key are only claims: the key authenticates when the row found
 * under that tenant's RLS context holds the SHA-256 of the secret. A forged tenant id therefore
 * finds no row. A fast hash suffices because the secret is 256 random bits, not a password.
 */
const PREFIX = 'fgk_';

export interface ParsedApiKey {
  tenantId: string;
  keyId: string;
  secretHash: Buffer;
}

export function mintApiKey(tenantId: string, keyId: string): { key: Secret; secretHash: Buffer } {
  const secret = randomBytes(32);
  const raw = Buffer.concat([uuidBytes(tenantId), uuidBytes(keyId), secret]);
  return { key: new Secret(PREFIX + raw.toString('base64url')), secretHash: sha256(secret) };
}

export function looksLikeApiKey(credential: string): boolean {
  return credential.startsWith(PREFIX);
}

export function parseApiKey(credential: string): ParsedApiKey | undefined {
  if (!looksLikeApiKey(credential)) return undefined;
  const raw = Buffer.from(credential.slice(PREFIX.length), 'base64url');
  if (raw.length !== 64) return undefined;
  return { tenantId: bytesUuid(raw.subarray(0, 16)), keyId: bytesUuid(raw.subarray(16, 32)), secretHash: sha256(raw.subarray(32)) };
}

export function secretMatches(stored: Uint8Array, presented: Uint8Array): boolean {
  return stored.length === presented.length && timingSafeEqual(stored, presented);
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
}

function bytesUuid(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
