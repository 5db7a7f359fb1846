import { createHash, type KeyObject, sign, verify } from 'node:crypto';
import { CHAIN_FIELDS, type ChainEvent, type ChainVerification, ChainVerifier } from './chain.ts';

/**
 * The audit report: the events of a time range as NDJSON (the verifiable artifact) and CSV (for
 * spreadsheets), and a digest signed with the gateway's audit key (Ed25519) that binds the range to
 * the chain: where it starts (prevHash), where it ends (headHash), both files' SHA-256, and whether
 * the gateway found the whole chain intact when it exported. Verifiable offline with the public key
 * alone (verifyAuditReport, `npm run audit:verify`, or openssl for the signature).
 */
export const REPORT_FORMAT = 'fleetgate-audit-report-v1';

export interface ReportDigest {
  format: typeof REPORT_FORMAT;
  tenantId: string;
  from: string;
  to: string;
  eventCount: number;
  firstSeq: string | null;
  lastSeq: string | null;
  /** Hash the first event links to (the previous event's, a checkpoint's or genesis); null when empty. */
  prevHash: string | null;
  /** Hash of the last event in the range; null when empty. */
  headHash: string | null;
  /** Whether the gateway verified the tenant's whole chain (up to lastSeq) before signing. */
  chainIntact: boolean;
  chainBrokenAt: ChainVerification['brokenAt'];
  ndjsonSha256: string;
  csvSha256: string;
  keyId: string;
  generatedAt: string;
}

/** Contents of `report.sig.json`: the digest exactly as signed, and the signature. */
export interface ReportSignatureFile {
  digest: string;
  signature: string;
  keyId: string;
}

export function toNdjson(events: readonly ChainEvent[]): string {
  return events.map((event) => `${JSON.stringify(Object.fromEntries(CHAIN_FIELDS.map((field) => [field, event[field]])))}\n`).join('');
}

/**
 * RFC 4180 CSV with the same columns. Cells starting with = + - @ are prefixed with ' so a
 * spreadsheet never runs a value as a formula; the NDJSON holds the exact values.
 */
export function toCsv(events: readonly ChainEvent[]): string {
  const cell = (value: string | null) => {
    if (value === null) return '';
    const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
    return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
  };
  const lines = [CHAIN_FIELDS.join(','), ...events.map((event) => CHAIN_FIELDS.map((field) => cell(event[field])).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function buildReport(input: {
  tenantId: string;
  from: Date;
  to: Date;
  events: readonly ChainEvent[];
  verification: ChainVerification;
  key: { privateKey: KeyObject; kid: string };
}): { ndjson: string; csv: string; digest: ReportDigest; signatureFile: ReportSignatureFile } {
  const { events } = input;
  const ndjson = toNdjson(events);
  const csv = toCsv(events);
  const digest: ReportDigest = {
    format: REPORT_FORMAT,
    tenantId: input.tenantId,
    from: input.from.toISOString(),
    to: input.to.toISOString(),
    eventCount: events.length,
    firstSeq: events[0]?.seq ?? null,
    lastSeq: events.at(-1)?.seq ?? null,
    prevHash: events[0]?.prevHash ?? null,
    headHash: events.at(-1)?.hash ?? null,
    chainIntact: input.verification.intact,
    chainBrokenAt: input.verification.brokenAt,
    ndjsonSha256: sha256Hex(ndjson),
    csvSha256: sha256Hex(csv),
    keyId: input.key.kid,
    generatedAt: new Date().toISOString(),
  };
  const digestText = JSON.stringify(digest);
  const signature = sign(null, Buffer.from(digestText, 'utf8'), input.key.privateKey).toString('base64');
  return { ndjson, csv, digest, signatureFile: { digest: digestText, signature, keyId: input.key.kid } };
}

export interface ReportCheck {
  ok: boolean;
  problems: string[];
  digest: ReportDigest | null;
  chain: ChainVerification | null;
}

/**
 * The offline verifier: needs the report files and the public key, nothing else. Checks the
 * signature over the digest, both files against the digest, the gateway's own verdict, and then
 * recomputes every hash and link of the NDJSON from the digest's prevHash to its headHash.
 */
export function verifyAuditReport(input: { ndjson: string; signatureFile: string; publicKey: KeyObject; csv?: string }): ReportCheck {
  const problems: string[] = [];
  let file: ReportSignatureFile;
  try {
    file = JSON.parse(input.signatureFile) as ReportSignatureFile;
  } catch {
    return { ok: false, problems: ['signature file is not JSON'], digest: null, chain: null };
  }
  let signed = false;
  try {
    signed = verify(null, Buffer.from(String(file.digest), 'utf8'), input.publicKey, Buffer.from(String(file.signature), 'base64'));
  } catch {
    signed = false;
  }
  if (!signed) return { ok: false, problems: ['signature does not verify with this public key'], digest: null, chain: null };
  const digest = JSON.parse(file.digest) as ReportDigest;
  if (digest.format !== REPORT_FORMAT) problems.push(`unknown format ${String(digest.format)}`);
  if (sha256Hex(input.ndjson) !== digest.ndjsonSha256) problems.push('NDJSON file differs from the signed digest');
  if (input.csv !== undefined && sha256Hex(input.csv) !== digest.csvSha256) problems.push('CSV file differs from the signed digest');
  if (!digest.chainIntact) {
    problems.push(`the gateway found the chain broken at seq ${digest.chainBrokenAt?.seq} (${digest.chainBrokenAt?.reason})`);
  }

  const lines = input.ndjson.split('\n').filter((line) => line.length > 0);
  const verifier = new ChainVerifier(
    digest.tenantId,
    digest.firstSeq ? { startAt: { seq: digest.firstSeq, prevHash: digest.prevHash ?? '' } } : {},
  );
  for (const [index, line] of lines.entries()) {
    let event: ChainEvent;
    try {
      event = JSON.parse(line) as ChainEvent;
    } catch {
      problems.push(`line ${index + 1} is not JSON`);
      break;
    }
    if (!verifier.push(event)) break;
  }
  const chain = verifier.result();
  if (!chain.intact) problems.push(`chain broken at seq ${chain.brokenAt?.seq} (${chain.brokenAt?.reason})`);
  else if (chain.eventsChecked !== digest.eventCount || (digest.headHash !== null && chain.headHash !== digest.headHash)) {
    problems.push(
      `chain ends at seq ${chain.lastSeq} with ${chain.eventsChecked} events; the digest says seq ${digest.lastSeq}, ${digest.eventCount}`,
    );
  }
  return { ok: problems.length === 0, problems, digest, chain };
}
