import { readFileSync } from 'node:fs';
// An offline verifier loads the verification code alone, not the audit module's face (which brings
// the services, the ORM and the rest of the gateway): these two files import no service.
import { publicKeyFromPem } from '../modules/audit/chain.ts';
import { verifyAuditReport } from '../modules/audit/report.ts';

/**
 * The offline verifier of an audit report: no database, no gateway, no secret.
 *   npm run -s audit:verify -- report.ndjson report.sig.json public.pem [report.csv]
 * Exit code 0 and "audit report OK" when the signature, the files and every link of the chain check
 * out; exit code 1 with the problems otherwise.
 */
const [ndjsonPath, signaturePath, publicKeyPath, csvPath] = process.argv.slice(2);
if (!ndjsonPath || !signaturePath || !publicKeyPath) {
  process.stderr.write('usage: npm run -s audit:verify -- report.ndjson report.sig.json public.pem [report.csv]\n');
  process.exit(2);
}
const check = verifyAuditReport({
  ndjson: readFileSync(ndjsonPath, 'utf8'),
  signatureFile: readFileSync(signaturePath, 'utf8'),
  publicKey: publicKeyFromPem(readFileSync(publicKeyPath, 'utf8')),
  ...(csvPath ? { csv: readFileSync(csvPath, 'utf8') } : {}),
});
if (check.ok && check.digest) {
  const d = check.digest;
  process.stdout.write(
    `audit report OK: tenant ${d.tenantId}, ${d.eventCount} events (seq ${d.firstSeq ?? '-'}..${d.lastSeq ?? '-'}), ` +
      `${d.from} to ${d.to}, head ${d.headHash ?? '-'}, signed by ${d.keyId}\n`,
  );
} else {
  process.stdout.write(`audit report FAILED:\n${check.problems.map((problem) => `  - ${problem}`).join('\n')}\n`);
  process.exit(1);
}
