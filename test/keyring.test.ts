import { mkdtemp, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openKeyring } from '../src/auth/keyring.ts';

describe('local keyring', () => {
  // Regression: two replicas starting at once on a fresh home failed with EEXIST.
  it('two first starts at once agree on one keyring, created once, mode 0600', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'fleetgate-keyring-')), 'keyring');
    const opened = await Promise.all(Array.from({ length: 4 }, () => openKeyring(dir)));
    expect(opened.filter((keyring) => keyring.created)).toHaveLength(1);
    expect(new Set(opened.map((keyring) => keyring.signingKey.kid)).size).toBe(1);
    expect(new Set(opened.map((keyring) => keyring.auditKey.kid)).size).toBe(1);
    expect(await readdir(dir)).toEqual(['keyring.json']);
    expect((await stat(join(dir, 'keyring.json'))).mode & 0o777).toBe(0o600);
    const reopened = await openKeyring(dir);
    expect(reopened.created).toBe(false);
    expect(reopened.signingKey.kid).toBe(opened[0]?.signingKey.kid);
  });
});
