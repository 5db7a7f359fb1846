import { aead } from '../../keys/index.ts';

/**
 * Memory values (and, with the sharing AAD, shared handoffs and files) under AES-256-GCM (`aead`).
 * The additional data binds a ciphertext to its tenant, agent and entry key: copied into another row,
 * another agent's table or another tenant, it fails to decrypt. Layout: iv (12) || tag (16) || ciphertext.
 */
export function sealValue(dataKey: Buffer, aad: string, plaintext: string): Buffer {
  return aead.seal(dataKey, Buffer.from(plaintext, 'utf8'), Buffer.from(aad, 'utf8'), 'nonce|tag|ciphertext');
}

/** Throws when the key, the additional data or a single bit of the ciphertext is wrong. */
export function openValue(dataKey: Buffer, aad: string, sealed: Buffer): string {
  return aead.open(dataKey, sealed, Buffer.from(aad, 'utf8'), 'nonce|tag|ciphertext').toString('utf8');
}

export function aadOf(tenantId: string, agentId: string, key: string): string {
  return `fleetgate-memory-v1\u0000${tenantId}\u0000${agentId}\u0000${key}`;
}
