import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { aesKey } from '../../shared/aes-key.ts';

/**
 * AES-256-GCM for memory values. The additional data binds a ciphertext to its tenant, agent and
 * entry key: copied into another row, another agent's table or another tenant, it fails to decrypt.
 * Layout: iv (12) || tag (16) || ciphertext.
 */
export function sealValue(dataKey: Buffer, aad: string, plaintext: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', aesKey(dataKey), iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const encrypted = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), encrypted]);
}

/** Throws when the key, the additional data or a single bit of the ciphertext is wrong. */
export function openValue(dataKey: Buffer, aad: string, sealed: Buffer): string {
  const decipher = createDecipheriv('aes-256-gcm', aesKey(dataKey), sealed.subarray(0, 12));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(sealed.subarray(12, 28));
  return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString('utf8');
}

export function aadOf(tenantId: string, agentId: string, key: string): string {
  return `fleetgate-memory-v1\u0000${tenantId}\u0000${agentId}\u0000${key}`;
}
