/**
 * The audit module's face: recording (recordAudit, the request's audit trail), the writer the ORM
 * commits events with, the chain's offline verification (CLI) and the audit retention job.
 * Its GraphQL types register from its *.schema.ts files, which src/schema.ts alone
 * imports: importing this face never loads the Pothos builder.
 */
export { recordAudit } from './audit.service.ts';
export { AuditEvent } from './audit-event.entity.ts';
export { auditTrail, recordDeniedAttempt, recordOutsideRequest, recordRefusedInput } from './audit-trail.ts';
export { auditWriter } from './audit-writer.ts';
export { publicKeyFromPem } from './chain.ts';
export { recordNodeMisses } from './node-probes.ts';
export { verifyAuditReport } from './report.ts';
export { runAuditRetention } from './retention.ts';
export { useAuditedRefusals } from './use-audited-refusals.ts';
