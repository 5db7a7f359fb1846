import { type KeyObject, sign, verify } from 'node:crypto';

/**
 * The signed deletion certificate an operator receives once a tenant is erased: what was removed
 * (row counts per table, containers, volumes, networks, backup archives), the ids of every key
 * destroyed (crypto-shredding), and the head of the tenant's audit chain after its last event,
 * `tenant.erased`, so the certificate and a later audit report can be tied together. Signed with
 * the gateway's audit key (Ed25519) like the audit report (audit/report.ts) and verifiable offline
 * with the public key alone (verifyDeletionCertificate, `npm run deletion:verify`). It holds ids and
 * counts, never a row, a name or a secret.
 */
export const CERTIFICATE_FORMAT = 'fleetgate-deletion-certificate-v1';

export interface DestroyedKeys {
  /** Agent credentials, by credential id: each row held its own data key. */
  credentialKeys: string[];
  /** Agent memory data keys, by key id. */
  memoryKeys: string[];
  /** Their escrow mirror (table memory_key_escrow), by key id. */
  memoryKeyEscrow: string[];
  /** The tenant's sharing keys, by the SHA-256 of the wrapped key (they carry no id). */
  sharingKeys: string[];
  /** Backup archives whose wrapped archive key was destroyed with the archive, by backup id. */
  backupArchives: string[];
}

export interface DeletionCertificate {
  format: typeof CERTIFICATE_FORMAT;
  tenantId: string;
  region: string;
  plan: string;
  requestedAt: string;
  dueAt: string;
  erasedAt: string;
  /** The tenant's audit chain after its `tenant.erased` event; the log itself is kept for its retention. */
  auditChainHead: { seq: string; hash: string };
  auditRetentionDays: number;
  counts: {
    rows: Record<string, number>;
    containers: number;
    volumes: number;
    networks: number;
    backupArchives: number;
  };
  destroyedKeys: DestroyedKeys;
  keyId: string;
}

/** Contents of `certificate.json`: the certificate exactly as signed, and the signature. */
export interface CertificateFile {
  certificate: string;
  signature: string;
  keyId: string;
}

export function signDeletionCertificate(certificate: DeletionCertificate, key: { privateKey: KeyObject }): CertificateFile {
  const text = JSON.stringify(certificate);
  return {
    certificate: text,
    signature: sign(null, Buffer.from(text, 'utf8'), key.privateKey).toString('base64'),
    keyId: certificate.keyId,
  };
}

export interface CertificateCheck {
  ok: boolean;
  problems: string[];
  certificate: DeletionCertificate | null;
}

/**
 * The offline verifier: the certificate file and the public key, nothing else. Checks the signature
 * over the exact text, the format, and, when given, that it is about the expected tenant.
 */
export function verifyDeletionCertificate(input: { file: string; publicKey: KeyObject; tenantId?: string }): CertificateCheck {
  let file: CertificateFile;
  try {
    file = JSON.parse(input.file) as CertificateFile;
  } catch {
    return { ok: false, problems: ['certificate file is not JSON'], certificate: null };
  }
  let signed = false;
  try {
    signed = verify(null, Buffer.from(String(file.certificate), 'utf8'), input.publicKey, Buffer.from(String(file.signature), 'base64'));
  } catch {
    signed = false;
  }
  if (!signed) return { ok: false, problems: ['signature does not verify with this public key'], certificate: null };
  const certificate = JSON.parse(file.certificate) as DeletionCertificate;
  const problems: string[] = [];
  if (certificate.format !== CERTIFICATE_FORMAT) problems.push(`unknown format ${String(certificate.format)}`);
  if (input.tenantId !== undefined && certificate.tenantId !== input.tenantId) {
    problems.push(`the certificate is about tenant ${certificate.tenantId}, not ${input.tenantId}`);
  }
  return { ok: problems.length === 0, problems, certificate };
}
