import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Secret } from '../shared/secret.ts';

/**
 * The gateway's own bearer secrets that belong to one tenant's row: API keys (`fgk_`), session
 * refresh tokens (`fgr_`) and one-time sign-in links (`fgl_`). Format: prefix + base64url(tenant id
 * (16 bytes) | row id (16 bytes) | secret (32 bytes)). The tenant and row ids inside are only
 * claims: the secret authenticates when the row found under that tenant's RLS context holds the
 * SHA-256 of the secret, so a forged tenant id finds no row. A fast hash suffices because the
 * secret is 256 random bits, not a password.
 */
export const API_KEY_PREFIX = 'fgk_';
export const REFRESH_TOKEN_PREFIX = 'fgr_';
export const SIGN_IN_LINK_PREFIX = 'fgl_';

export interface ParsedTenantSecret {
  tenantId: string;
  /** The row the secret claims: an API key's id, a session's id, a sign-in link's id. */
  id: string;
  secretHash: Buffer;
}

export function mintTenantSecret(prefix: string, tenantId: string, id: string): { secret: Secret; secretHash: Buffer } {
  const secret = randomBytes(32);
  const raw = Buffer.concat([uuidBytes(tenantId), uuidBytes(id), secret]);
  return { secret: new Secret(prefix + raw.toString('base64url')), secretHash: sha256(secret) };
}

export function parseTenantSecret(prefix: string, credential: string): ParsedTenantSecret | undefined {
  if (!credential.startsWith(prefix)) return undefined;
  const raw = Buffer.from(credential.slice(prefix.length), 'base64url');
  if (raw.length !== 64) return undefined;
  return { tenantId: bytesUuid(raw.subarray(0, 16)), id: bytesUuid(raw.subarray(16, 32)), secretHash: sha256(raw.subarray(32)) };
}

export function looksLikeApiKey(credential: string): boolean {
  return credential.startsWith(API_KEY_PREFIX);
}

export function secretMatches(stored: Uint8Array, presented: Uint8Array): boolean {
  return stored.length === presented.length && timingSafeEqual(stored, presented);
}

function sha256(data: Buffer): Buffer {
  return hash('sha256', data, 'buffer');
}

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
}

function bytesUuid(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
