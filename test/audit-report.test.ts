import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openKeyring } from '../src/auth/keyring.ts';
import { eventHash, publicKeyFromPem } from '../src/modules/audit/chain.ts';
import { verifyAuditReport } from '../src/modules/audit/report.ts';
import { asOwner, uuidOf } from './support/audit.ts';
import { expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { AuditLog, AuditSigningKey, ExportAuditReport, UpdateAgent } from './support/operations.ts';

const run = promisify(execFile);

let gw: Gateway;
let dir: string;
beforeAll(async () => {
  gw = await startGateway();
  dir = await mkdtemp(join(tmpdir(), 'fleetgate-report-'));
});
afterAll(async () => {
  await gw?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const wide = { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' };

async function tenantWithReport() {
  const acme = await gw.seed.tenant();
  const agent = await acme.agent('scout', { note: 'quote " comma , newline \n =cmd()' });
  await gw.execute(UpdateAgent, { input: { id: agent.id, description: 'x' } }, { token: acme.ownerToken });
  const { exportAuditReport } = expectNoErrors(await gw.execute(ExportAuditReport, wide, { token: acme.ownerToken }));
  const { auditSigningKey } = expectNoErrors(await gw.execute(AuditSigningKey, {}));
  return { acme, report: exportAuditReport, publicKeyPem: auditSigningKey.publicKeyPem };
}

function check(report: { ndjson: string; signatureFile: string; csv?: string }, publicKeyPem: string) {
  return verifyAuditReport({ ...report, publicKey: publicKeyFromPem(publicKeyPem) });
}

/** Runs the documented offline command on files; returns its exit code and output. */
async function offlineVerify(files: { ndjson: string; signatureFile: string; publicKeyPem: string; csv?: string }) {
  const paths = ['report.ndjson', 'report.sig.json', 'public.pem', 'report.csv'].map((name) => join(dir, `${Math.random()}-${name}`));
  await writeFile(paths[0] ?? '', files.ndjson);
  await writeFile(paths[1] ?? '', files.signatureFile);
  await writeFile(paths[2] ?? '', files.publicKeyPem);
  if (files.csv !== undefined) await writeFile(paths[3] ?? '', files.csv);
  const args = ['--import', 'tsx', 'src/cli/audit-verify.ts', ...paths.slice(0, files.csv !== undefined ? 4 : 3)];
  try {
    const { stdout } = await run(process.execPath, args);
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, stdout: failed.stdout };
  }
}

describe('exportAuditReport', () => {
  test('NDJSON and CSV of the range with a signed digest that verifies offline with the public key only', async () => {
    const { acme, report, publicKeyPem } = await tenantWithReport();
    expect(report).toMatchObject({ eventCount: 3, chainIntact: true });
    const lines = report.ndjson
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => line.action)).toEqual(['tenant.signUp', 'agent.create', 'agent.update']);
    expect(lines[0]).toMatchObject({ tenantId: uuidOf(acme.id), seq: '1' });
    expect(report.headHash).toBe(lines[2].hash);
    const csvLines = report.csv.trim().split('\r\n');
    expect(csvLines[0]).toBe(
      'tenantId,seq,id,createdAt,actorType,actorId,action,targetType,targetId,outcome,requestId,detail,prevHash,hash',
    );
    expect(csvLines).toHaveLength(4);

    expect(check(report, publicKeyPem)).toMatchObject({ ok: true, problems: [] });
    const cli = await offlineVerify({ ...report, publicKeyPem });
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain(`audit report OK: tenant ${uuidOf(acme.id)}, 3 events (seq 1..3)`);

    // The export itself is on record.
    const { auditLog } = expectNoErrors(
      await gw.execute(AuditLog, { first: 10, filter: { action: 'audit.export' } }, { token: acme.ownerToken }),
    );
    expect(auditLog.edges).toHaveLength(1);
  });

  test('the signature also verifies with plain openssl, as docs/security-model.md documents', async () => {
    const { report, publicKeyPem } = await tenantWithReport();
    const signature = JSON.parse(report.signatureFile) as { digest: string; signature: string };
    const [digestPath, sigPath, pemPath] = ['digest.json', 'digest.sig', 'public.pem'].map((name) => join(dir, `${Math.random()}-${name}`));
    await writeFile(digestPath ?? '', signature.digest);
    await writeFile(sigPath ?? '', Buffer.from(signature.signature, 'base64'));
    await writeFile(pemPath ?? '', publicKeyPem);
    const args = ['pkeyutl', '-verify', '-pubin', '-inkey', pemPath ?? '', '-rawin', '-in', digestPath ?? '', '-sigfile', sigPath ?? ''];
    expect((await run('openssl', args)).stdout).toContain('Signature Verified Successfully');
    await writeFile(digestPath ?? '', signature.digest.replace('"chainIntact":true', '"chainIntact":false'));
    await expect(run('openssl', args)).rejects.toThrow();
  });

  test('a range holds only its events, linked to the event before it', async () => {
    const acme = await gw.seed.tenant();
    await acme.agent('before');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const from = new Date().toISOString();
    await acme.agent('inside-1');
    await acme.agent('inside-2');
    const to = new Date(Date.now() + 1).toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await acme.agent('after');
    const { exportAuditReport } = expectNoErrors(await gw.execute(ExportAuditReport, { from, to }, { token: acme.ownerToken }));
    const lines = exportAuditReport.ndjson
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => JSON.parse(line.detail).name)).toEqual(['inside-1', 'inside-2']);
    const { auditSigningKey } = expectNoErrors(await gw.execute(AuditSigningKey, {}));
    expect(check(exportAuditReport, auditSigningKey.publicKeyPem).ok).toBe(true);
  });
});

describe('the offline verifier catches a tampered report', () => {
  const tamperings: [string, (ndjson: string[]) => string[], RegExp][] = [
    ['an edited event', (lines) => lines.map((line, i) => (i === 1 ? line.replace('"USER"', '"OPERATOR"') : line)), /HASH_MISMATCH/],
    ['a deleted event', (lines) => lines.filter((_, i) => i !== 1), /SEQUENCE_GAP/],
    ['two events reordered', (lines) => [lines[0] ?? '', lines[2] ?? '', lines[1] ?? ''], /SEQUENCE_GAP|BROKEN_LINK/],
    [
      'a forged event appended with a self-consistent hash',
      (lines) => {
        const last = JSON.parse(lines.at(-1) ?? '{}');
        const forged = { ...last, seq: String(Number(last.seq) + 1), prevHash: last.hash, action: 'forged' };
        return [...lines, JSON.stringify({ ...forged, hash: eventHash(forged) })];
      },
      /the digest says seq 3, 3/,
    ],
  ];

  test.each(tamperings)('%s', async (_name, tamper, reason) => {
    const { report, publicKeyPem } = await tenantWithReport();
    const lines = report.ndjson.trim().split('\n');
    const ndjson = `${tamper(lines).join('\n')}\n`;
    const result = check({ ...report, ndjson }, publicKeyPem);
    expect(result.ok).toBe(false);
    expect(result.problems.join('; ')).toMatch(/NDJSON file differs from the signed digest/);
    expect(result.problems.join('; ')).toMatch(reason);
  });

  test('an edited CSV, a re-signed digest by another key, and an edited digest all fail (and the CLI exits 1)', async () => {
    const { report, publicKeyPem } = await tenantWithReport();
    expect(check({ ...report, csv: report.csv.replace('agent.update', 'agent.delete') }, publicKeyPem).problems).toContain(
      'CSV file differs from the signed digest',
    );
    const stranger = await openKeyring(join(dir, 'stranger'));
    expect(check(report, stranger.auditKey.publicKeyPem).problems).toEqual(['signature does not verify with this public key']);
    const file = JSON.parse(report.signatureFile) as { digest: string };
    const edited = JSON.stringify({ ...file, digest: file.digest.replace('"eventCount":3', '"eventCount":2') });
    expect(check({ ...report, signatureFile: edited }, publicKeyPem).ok).toBe(false);
    const cli = await offlineVerify({ ...report, ndjson: report.ndjson.replace('tenant.signUp', 'tenant.signup'), publicKeyPem });
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain('audit report FAILED');
  });

  test('tampering in the database before the export: the signed digest says so and the offline verifier fails', async () => {
    const acme = await gw.seed.tenant();
    await acme.agent('a');
    await acme.agent('b');
    await asOwner(gw.database.adminUrl, uuidOf(acme.id), ["update audit_events set actor_id = 'nobody' where seq = 2"], { replica: true });
    const { exportAuditReport } = expectNoErrors(await gw.execute(ExportAuditReport, wide, { token: acme.ownerToken }));
    expect(exportAuditReport.chainIntact).toBe(false);
    const { auditSigningKey } = expectNoErrors(await gw.execute(AuditSigningKey, {}));
    const result = check(exportAuditReport, auditSigningKey.publicKeyPem);
    expect(result.ok).toBe(false);
    expect(result.problems.join('; ')).toMatch(/gateway found the chain broken at seq 2 \(HASH_MISMATCH\)/);
  });
});

describe('the audit signing key', () => {
  test('is published (public half only) and is not the token signing key', async () => {
    const { auditSigningKey } = expectNoErrors(await gw.execute(AuditSigningKey, {}));
    expect(auditSigningKey.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(auditSigningKey.keyId).toBe(gw.keyring.auditKey.kid);
    expect(auditSigningKey.keyId).not.toBe(gw.keyring.signingKey.kid);
    expect(JSON.stringify(auditSigningKey)).not.toMatch(/PRIVATE/);
  });

  test('a keyring written before the audit key existed still opens, gains one, and keeps it', async () => {
    const keyringDir = join(dir, 'old-keyring');
    const first = await openKeyring(keyringDir);
    const path = join(keyringDir, 'keyring.json');
    const { auditSigningKey: _dropped, ...versionOne } = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(path, JSON.stringify(versionOne), { mode: 0o600 });

    const reopened = await openKeyring(keyringDir);
    expect(reopened.signingKey.kid).toBe(first.signingKey.kid);
    expect(reopened.auditKey.kid).toMatch(/^audit-/);
    const stored = JSON.parse(await readFile(path, 'utf8'));
    expect(stored.auditSigningKey.kid).toBe(reopened.auditKey.kid);
    expect((await openKeyring(keyringDir)).auditKey.publicKeyPem).toBe(reopened.auditKey.publicKeyPem);
  });
});
