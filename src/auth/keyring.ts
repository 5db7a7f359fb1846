import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
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
  /** Password of the embedded Postgres superuser (embedded default only). */
  readonly embeddedDbPassword: Secret;
  /** True when this start created the keyring (used to print the first operator token once). */
  readonly created: boolean;
}

interface KeyringFile {
  version: 1;
  signingKey: JWK & { kid: string };
  embeddedDbPassword: string;
}

export async function openKeyring(dir: string): Promise<Keyring> {
  const path = join(dir, 'keyring.json');
  let file: KeyringFile;
  let created = false;
  try {
    file = JSON.parse(await readFile(path, 'utf8')) as KeyringFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`keyring at ${path} is unreadable`);
    file = await createKeyringFile();
    await mkdir(dirname(dir), { recursive: true, mode: 0o755 });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(path, JSON.stringify(file), { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600);
    created = true;
  }
  const privateKey = (await importJWK(file.signingKey, 'EdDSA')) as CryptoKey;
  const { d: _private, ...publicJwk } = file.signingKey;
  const publicKey = (await importJWK(publicJwk, 'EdDSA')) as CryptoKey;
  return {
    signingKey: { privateKey, publicKey, kid: file.signingKey.kid },
    embeddedDbPassword: new Secret(file.embeddedDbPassword),
    created,
  };
}

async function createKeyringFile(): Promise<KeyringFile> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  return {
    version: 1,
    signingKey: { ...jwk, kid: randomBytes(8).toString('hex') },
    embeddedDbPassword: randomBytes(24).toString('base64url'),
  };
}
