import { readFileSync } from 'node:fs';
// An offline verifier loads the verification code alone, not the modules' faces (which bring the
// services, the ORM and the rest of the gateway): these two files import no service.
import { publicKeyFromPem } from '../modules/audit/chain.ts';
import { verifyDeletionCertificate } from '../modules/tenants/deletion-certificate.ts';

/**
 * The offline verifier of a tenant deletion certificate: no database, no gateway, no secret.
 *   npm run -s deletion:verify -- certificate.json public.pem [tenant-id]
 * Exit code 0 and "deletion certificate OK" when the signature checks out (and it names the given
 * tenant); exit code 1 with the problems otherwise.
 */
const [certificatePath, publicKeyPath, tenantId] = process.argv.slice(2);
if (!certificatePath || !publicKeyPath) {
  process.stderr.write('usage: npm run -s deletion:verify -- certificate.json public.pem [tenant-id]\n');
  process.exit(2);
}
const check = verifyDeletionCertificate({
  file: readFileSync(certificatePath, 'utf8'),
  publicKey: publicKeyFromPem(readFileSync(publicKeyPath, 'utf8')),
  ...(tenantId ? { tenantId } : {}),
});
if (check.ok && check.certificate) {
  const c = check.certificate;
  const rows = Object.values(c.counts.rows).reduce((sum, n) => sum + n, 0);
  const keys = Object.values(c.destroyedKeys).reduce((sum, ids) => sum + ids.length, 0);
  process.stdout.write(
    `deletion certificate OK: tenant ${c.tenantId} (${c.plan}, ${c.region}) erased ${c.erasedAt}, ${rows} rows, ` +
      `${c.counts.containers} containers, ${keys} keys destroyed, audit head seq ${c.auditChainHead.seq} ${c.auditChainHead.hash}, signed by ${c.keyId}\n`,
  );
} else {
  process.stdout.write(`deletion certificate FAILED:\n${check.problems.map((problem) => `  - ${problem}`).join('\n')}\n`);
  process.exit(1);
}
