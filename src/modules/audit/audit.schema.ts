import type { DefaultConnectionArguments } from '@pothos/plugin-relay';
import { builder } from '../../builder.ts';
import type { PageArgs } from '../../db/pagination.ts';
import { cursorConnection } from '../common/index.ts';
import type { Tenant } from '../tenants/index.ts';
import { TenantRef } from '../tenants/tenant.schema.ts';
import { type AuditReport, exportAuditReport, listAuditLog, setAuditRetention, verifyAuditLog } from './audit.service.ts';
import { AUDIT_OUTCOMES, AuditEvent } from './audit-event.entity.ts';
import type { ChainBreak, ChainVerification } from './chain.ts';

const AuditOutcome = builder.enumType('AuditOutcome', { values: AUDIT_OUTCOMES });

const AuditEventRef = builder.objectType(AuditEvent, {
  name: 'AuditEvent',
  authScopes: (event) => ({ $all: { can: 'audit.read', sameTenant: event.tenantId } }),
  fields: (t) => ({
    id: t.exposeID('id'),
    seq: t.exposeString('seq', { description: "Position in the tenant's hash chain (a 64-bit integer, as a string)." }),
    actorType: t.exposeString('actorType'),
    actorId: t.exposeString('actorId'),
    action: t.exposeString('action'),
    targetType: t.exposeString('targetType', { nullable: true }),
    targetId: t.exposeString('targetId', { nullable: true }),
    outcome: t.field({ type: AuditOutcome, resolve: (event) => event.outcome }),
    requestId: t.exposeString('requestId', { nullable: true }),
    detail: t.expose('detail', { type: 'JSONObject' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    prevHash: t.string({
      description: 'SHA-256 (hex) of the previous event.',
      resolve: (event) => Buffer.from(event.prevHash).toString('hex'),
    }),
    hash: t.string({
      description: 'SHA-256 (hex) of this event (see docs/security-model.md: Audit).',
      resolve: (event) => Buffer.from(event.hash).toString('hex'),
    }),
  }),
});

const AuditLogFilter = builder.inputType('AuditLogFilter', {
  fields: (t) => ({
    action: t.string(),
    actorType: t.string(),
    actorId: t.string(),
    targetId: t.string(),
    outcome: t.field({ type: AuditOutcome }),
    from: t.field({ type: 'DateTime', description: 'Inclusive.' }),
    to: t.field({ type: 'DateTime', description: 'Exclusive.' }),
  }),
});

const AuditBreakReason = builder.enumType('AuditBreakReason', {
  values: ['HASH_MISMATCH', 'BROKEN_LINK', 'SEQUENCE_GAP', 'WRONG_TENANT', 'MISSING_START', 'BAD_CHECKPOINT'] as const,
});

const AuditBreakRef = builder.objectRef<ChainBreak>('AuditChainBreak').implement({
  fields: (t) => ({
    seq: t.exposeString('seq'),
    eventId: t.exposeString('eventId', { nullable: true }),
    reason: t.field({ type: AuditBreakReason, resolve: (entry) => entry.reason }),
  }),
});

const AuditVerificationRef = builder.objectRef<ChainVerification>('AuditVerification').implement({
  fields: (t) => ({
    intact: t.exposeBoolean('intact'),
    eventsChecked: t.exposeInt('eventsChecked'),
    firstSeq: t.exposeString('firstSeq', { nullable: true }),
    lastSeq: t.exposeString('lastSeq', { nullable: true }),
    headHash: t.exposeString('headHash'),
    checkpointSeq: t.exposeString('checkpointSeq', { nullable: true, description: 'Set when older events were dropped by retention.' }),
    brokenAt: t.expose('brokenAt', { type: AuditBreakRef, nullable: true, description: 'The first broken link, if any.' }),
  }),
});

const AuditReportRef = builder.objectRef<AuditReport>('AuditReport').implement({
  fields: (t) => ({
    ndjson: t.exposeString('ndjson', { description: 'One event per line: save as report.ndjson.' }),
    csv: t.exposeString('csv'),
    signatureFile: t.string({
      description: 'The signed digest: save as report.sig.json and verify offline (docs/security-model.md: Audit).',
      resolve: (report) => JSON.stringify(report.signatureFile),
    }),
    eventCount: t.int({ resolve: (report) => report.digest.eventCount }),
    chainIntact: t.boolean({ resolve: (report) => report.digest.chainIntact }),
    headHash: t.string({ nullable: true, resolve: (report) => report.digest.headHash }),
  }),
});

const AuditSigningKeyRef = builder.objectRef<{ keyId: string; publicKeyPem: string }>('AuditSigningKey').implement({
  fields: (t) => ({
    keyId: t.exposeString('keyId'),
    publicKeyPem: t.exposeString('publicKeyPem', { description: 'Ed25519 public key (SPKI PEM): save as public.pem.' }),
  }),
});

builder.queryFields((t) => ({
  auditEvents: t.connection({
    description: "The caller's tenant's audit events, oldest first.",
    deprecationReason: 'Use auditLog (chain order, filters).',
    type: AuditEventRef,
    skipTypeScopes: true,
    authScopes: { can: 'audit.read' },
    // auditLog without a filter: chain order, the seq as cursor.
    resolve: (_root, args, ctx) => auditLogConnection(args, (page) => listAuditLog(ctx, {}, page)),
  }),
  auditLog: t.connection({
    description: "The caller's tenant's audit log in chain order (seq), filtered.",
    type: AuditEventRef,
    skipTypeScopes: true,
    authScopes: { can: 'audit.read' },
    args: { filter: t.arg({ type: AuditLogFilter }) },
    resolve: (_root, { filter, ...args }, ctx) => auditLogConnection(args, (page) => listAuditLog(ctx, withoutNulls(filter), page)),
  }),
  verifyAuditLog: t.field({
    description: "Recomputes the tenant's whole hash chain: intact, or the first broken link.",
    type: AuditVerificationRef,
    skipTypeScopes: true,
    authScopes: { can: 'audit.read' },
    resolve: (_root, _args, ctx) => verifyAuditLog(ctx),
  }),
  exportAuditReport: t.field({
    description: 'The events of [from, to) as NDJSON and CSV with an Ed25519-signed digest, verifiable offline.',
    type: AuditReportRef,
    skipTypeScopes: true,
    authScopes: { can: 'audit.read' },
    args: { from: t.arg({ type: 'DateTime', required: true }), to: t.arg({ type: 'DateTime', required: true }) },
    resolve: (_root, range, ctx) => exportAuditReport(ctx, range),
  }),
  auditSigningKey: t.field({
    description: 'The public key that verifies audit reports and retention checkpoints. No secret.',
    type: AuditSigningKeyRef,
    skipTypeScopes: true,
    authScopes: { public: true },
    resolve: (_root, _args, ctx) => ({ keyId: ctx.auditKey.kid, publicKeyPem: ctx.auditKey.publicKeyPem }),
  }),
}));

const SetAuditRetentionPayload = builder.objectRef<{ tenant: Tenant }>('SetAuditRetentionPayload').implement({
  fields: (t) => ({ tenant: t.expose('tenant', { type: TenantRef }) }),
});

builder.mutationField('setAuditRetention', (t) =>
  t.field({
    description: 'Owners: keep audit events this many days (30–3650); older ones are dropped behind a signed checkpoint.',
    type: SetAuditRetentionPayload,
    skipTypeScopes: true,
    authScopes: { can: 'audit.manage' },
    args: { days: t.arg.int({ required: true }) },
    resolve: async (_root, { days }, ctx) => ({ tenant: await setAuditRetention(ctx, { days }) }),
  }),
);

/** A connection over the audit log in chain order, the seq doubling as the cursor. */
function auditLogConnection(args: DefaultConnectionArguments, load: (page: PageArgs) => Promise<AuditEvent[]>) {
  return cursorConnection(args, (event: AuditEvent) => event.seq, load);
}

function withoutNulls<T extends Record<string, unknown>>(input: T | null | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(input ?? {}).filter(([, value]) => value !== null && value !== undefined)) as Partial<T>;
}
