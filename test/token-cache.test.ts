import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openKeyring } from '../src/auth/keyring.ts';
import { TokenIssuer } from '../src/auth/tokens.ts';

const TENANT = '0190a0b0-0000-7000-8000-000000000001';
const USER = '0190a0b0-0000-7000-8000-000000000002';
const subject = { kind: 'user', tenantId: TENANT, userId: USER, role: 'VIEWER', tokenVersion: 1 } as const;

/** The verified-token cache must never answer for a token the full check would refuse. */
describe('verified-token cache', () => {
  const dirs: string[] = [];
  let issuer: TokenIssuer;
  let otherKeyring: TokenIssuer;

  const keyringIn = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetgate-token-cache-'));
    dirs.push(dir);
    return openKeyring(dir);
  };

  beforeAll(async () => {
    issuer = new TokenIssuer(await keyringIn(), '1h', 2);
    otherKeyring = new TokenIssuer(await keyringIn(), '1h');
  });
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  test('a token answers the same principal from the cache as from the full check', async () => {
    const token = (await issuer.issue(subject)).reveal();
    const first = await issuer.verify(token);
    expect(first).toEqual(subject);
    expect(await issuer.verify(token)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  test('after its token was cached, a copy with a changed signature or payload is refused', async () => {
    const token = (await issuer.issue(subject)).reveal();
    expect(await issuer.verify(token)).toEqual(subject);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const flipped = `${signature.slice(0, -2)}${signature.at(-2) === 'A' ? 'B' : 'A'}${signature.at(-1)}`;
    expect(await issuer.verify(`${header}.${payload}.${flipped}`)).toBeUndefined();
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const owner = Buffer.from(JSON.stringify({ ...claims, role: 'OWNER' })).toString('base64url');
    expect(await issuer.verify(`${header}.${owner}.${signature}`)).toBeUndefined();
  });

  test('a token of another keyring is refused even with identical claims', async () => {
    expect(await issuer.verify((await issuer.issue(subject)).reveal())).toEqual(subject);
    expect(await issuer.verify((await otherKeyring.issue(subject)).reveal())).toBeUndefined();
  });

  test('a cached token stops working at its exp', async () => {
    const token = (await issuer.issue(subject, new Date(Date.now() + 1_500))).reveal();
    expect(await issuer.verify(token)).toEqual(subject);
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    expect(await issuer.verify(token)).toBeUndefined();
  });

  test('refusals are not cached', async () => {
    const fresh = new TokenIssuer(await keyringIn(), '1h');
    expect(await fresh.verify('not.a.token')).toBeUndefined();
    expect(await fresh.verify((await otherKeyring.issue(subject)).reveal())).toBeUndefined();
    expect(fresh.cachedTokens).toBe(0);
  });

  test('the cache stays within its size', async () => {
    for (let i = 0; i < 5; i++) expect(await issuer.verify((await issuer.issue(subject)).reveal())).toEqual(subject);
    expect(issuer.cachedTokens).toBe(2);
  });
});
