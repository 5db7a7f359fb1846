import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { Secret } from '../shared/secret.ts';

/**
 * The local keyring: the embedded default's key material, in files outside the database directory,
 * created with mode 0600 on first start. A database dump alone therefore never yields a token
 * signing key. (Vault-backed providers for credentials come with the credentials issue.)
 */
export interface Keyring {
  /** Ed25519 key pair signing and verifying every JWT the gateway issues. */
  readonly signingKey: { privateKey: CryptoKey; publicKey: CryptoKey; kid: string };
  /**
   * Ed25519 key pair signing audit report digests and retention checkpoints. Separate from the JWT
   * key so neither signature can stand in for the other; its public half is published (auditSigningKey).
   */
  readonly auditKey: { privateKey: KeyObject; publicKey: KeyObject; kid: string; publicKeyPem: string };
  /** Password of the embedded Postgres superuser (embedded default only). */
  readonly embeddedDbPassword: Secret;
  /** True when this start created the keyring (used to print the first operator token once). */
  readonly created: boolean;
}

interface KeyringFile {
  version: 1;
  signingKey: JWK & { kid: string };
  /** Added after version 1 shipped: a keyring without it gains one on its next open. */
  auditSigningKey?: JWK & { kid: string };
  embeddedDbPassword: string;
}

export async function openKeyring(dir: string): Promise<Keyring> {
  const path = join(dir, 'keyring.json');
  let file: KeyringFile;
  let created = false;
  const existing = await readKeyringFile(path);
  if (existing) {
    file = existing;
  } else {
    await mkdir(dirname(dir), { recursive: true, mode: 0o755 });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const fresh = await createKeyringFile();
    created = await publishOnce(path, JSON.stringify(fresh));
    // Another replica starting at the same moment may have published first: everybody uses the winner's keys.
    file = created ? fresh : ((await readKeyringFile(path)) as KeyringFile);
  }
  let auditJwk = file.auditSigningKey;
  if (!auditJwk) {
    auditJwk = newAuditKey();
    file = { ...file, auditSigningKey: auditJwk };
    // Replace atomically: a crash leaves the old keyring or the new one, never half a file.
    await writeFile(`${path}.tmp`, JSON.stringify(file), { mode: 0o600 });
    await rename(`${path}.tmp`, path);
    await chmod(path, 0o600);
  }
  const { kid: auditKid, ...auditKeyJwk } = auditJwk;
  const auditPrivate = createPrivateKey({ key: auditKeyJwk as Record<string, string>, format: 'jwk' });
  const auditPublic = createPublicKey(auditPrivate);
  const privateKey = (await importJWK(file.signingKey, 'EdDSA')) as CryptoKey;
  const { d: _private, ...publicJwk } = file.signingKey;
  const publicKey = (await importJWK(publicJwk, 'EdDSA')) as CryptoKey;
  return {
    signingKey: { privateKey, publicKey, kid: file.signingKey.kid },
    auditKey: {
      privateKey: auditPrivate,
      publicKey: auditPublic,
      kid: auditKid,
      publicKeyPem: auditPublic.export({ type: 'spki', format: 'pem' }).toString(),
    },
    embeddedDbPassword: new Secret(file.embeddedDbPassword),
    created,
  };
}

async function readKeyringFile(path: string): Promise<KeyringFile | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as KeyringFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`keyring at ${path} is unreadable`);
  }
}

/**
 * Writes a complete file beside `path` and hard-links it into place: link() is atomic and fails if
 * `path` exists, so concurrent first starts agree on one keyring and nobody reads half a file.
 * Returns false when another process published first.
 */
async function publishOnce(path: string, content: string): Promise<boolean> {
  const staging = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(staging, content, { mode: 0o600, flag: 'wx' });
  await chmod(staging, 0o600);
  try {
    await link(staging, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(staging);
  }
}

async function createKeyringFile(): Promise<KeyringFile> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  return {
    version: 1,
    signingKey: { ...jwk, kid: randomBytes(8).toString('hex') },
    auditSigningKey: newAuditKey(),
    embeddedDbPassword: randomBytes(24).toString('base64url'),
  };
}

function newAuditKey(): JWK & { kid: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { ...(privateKey.export({ format: 'jwk' }) as JWK), kid: `audit-${randomBytes(8).toString('hex')}` };
}
