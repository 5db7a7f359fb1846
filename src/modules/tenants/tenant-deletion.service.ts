import { mkdir, readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { assertCan } from '../../auth/actions.ts';
import type { Keyring } from '../../auth/keyring.ts';
import { forkForOperator, forkForTenant } from '../../db/request-scope.ts';
import type { RequestScope } from '../../request/scope.ts';
import { clientError, notFound } from '../../shared/errors.ts';
import { isUuid } from '../../shared/ids.ts';
import type { Logger } from '../../shared/logger.ts';
import { PeriodicJob } from '../../shared/periodic-job.ts';
import { recordAudit } from '../audit/index.ts';
import { type ContainerRuntime, convergeTenantAgents } from '../provisioning/index.ts';
import { CERTIFICATE_FORMAT, type CertificateFile, type DeletionCertificate, signDeletionCertificate } from './deletion-certificate.ts';
import { Tenant } from './tenant.entity.ts';
import * as store from './tenant.store.ts';
import { type DeletionRecord, ERASURE_STEPS, type ErasureStep, type Progress } from './tenant.store.ts';
import type { TenantDeletionSettings } from './tenant-deletion-settings.ts';

export { ERASURE_STEPS, type ErasureStep } from './tenant.store.ts';

/**
 * The owner asks for the erasure of the whole tenant. The database (request_tenant_deletion,
 * migrations/functions/deletion.sql) checks again that the caller is an OWNER of the transaction's own ACTIVE tenant,
 * records the request and sets DELETION_PENDING: at commit the policy feed freezes the tenant for
 * users on every replica, this one from the moment the answer leaves (the schema's
 * applyHereAfterCommit; see AccessGate.check for what the owner keeps), and its agents are stopped
 * like a frozen tenant's. Audited in the same transaction.
 */
export async function requestTenantDeletion(scope: RequestScope, settings: TenantDeletionSettings): Promise<Tenant> {
  assertCan(scope.principal, 'tenant.delete');
  const { principal } = scope;
  if (principal.kind !== 'user') throw clientError('FORBIDDEN', 'Not allowed');
  const due = await store.requestDeletion(scope.em, principal.tenantId, principal.userId, settings.graceSeconds);
  const agentsToStop = await convergeTenantAgents(scope.em, principal.tenantId);
  recordAudit(scope, {
    action: 'tenant.deletion.request',
    targetType: 'Tenant',
    targetId: principal.tenantId,
    detail: { dueAt: new Date(due ?? Date.now()).toISOString(), graceSeconds: settings.graceSeconds, agentsToStop },
  });
  return reloadTenant(scope.em, principal.tenantId);
}

/** The owner's way back, until the erasure begins (cancel_tenant_deletion refuses after that): ACTIVE again, agents converge back. */
export async function cancelTenantDeletion(scope: RequestScope): Promise<Tenant> {
  assertCan(scope.principal, 'tenant.delete');
  const tenantId = scope.principal.kind === 'user' ? scope.principal.tenantId : undefined;
  if (!tenantId) throw clientError('FORBIDDEN', 'Not allowed');
  await store.cancelDeletion(scope.em, tenantId);
  const agentsToStart = await convergeTenantAgents(scope.em, tenantId);
  recordAudit(scope, { action: 'tenant.deletion.cancel', targetType: 'Tenant', targetId: tenantId, detail: { agentsToStart } });
  return reloadTenant(scope.em, tenantId);
}

async function reloadTenant(em: EntityManager, tenantId: string): Promise<Tenant> {
  await em.flush();
  const tenant = await em.findOne(Tenant, { id: tenantId }, { refresh: true });
  if (!tenant) throw notFound('Tenant');
  return tenant;
}

/** What operators see of a tenant's deletion: the step reached, failures, and the certificate once erased. */
export interface TenantDeletionView {
  tenantId: string;
  step: ErasureStep;
  requestedAt: Date;
  dueAt: Date;
  attempts: number;
  lastError: string | null;
  erasedAt: Date | null;
  /** The signed certificate file (certificate.json), once the step is CERTIFIED. */
  certificate: CertificateFile | null;
}

/** Operators: one tenant's deletion record (metadata, ids and counts only), or NOT_FOUND when none was asked for. */
export async function getTenantDeletion(scope: RequestScope, tenantId: string): Promise<TenantDeletionView> {
  assertCan(scope.principal, 'platform.tenants.read');
  if (!isUuid(tenantId)) throw notFound('TenantDeletion');
  const record = await store.deletionOf(scope.em, tenantId);
  if (!record) throw notFound('TenantDeletion');
  return record;
}

export interface ErasureDeps {
  /** The region's ORM (app role). */
  orm: MikroORM;
  region: string;
  /** The region's container engine; absent: this replica runs no agents of the region, nothing to remove. */
  engine?: ContainerRuntime;
  /** The region's backup archive directory. */
  backupDir?: string;
  /** Signs the certificate (the keyring's audit key, as for audit reports). */
  auditKey: Keyring['auditKey'];
  log: Logger;
  /** Tests only: runs inside each database step's transaction, after its work and before its commit. */
  testing?: { beforeCommit?: (step: ErasureStep, tenantId: string) => void | Promise<void> };
}

export type ErasureOutcome =
  | { tenantId: string; status: 'erased'; certificate: CertificateFile }
  | { tenantId: string; status: 'failed'; step: ErasureStep; error: string };

/**
 * The erasure job of one region: every deletion whose grace period is over and which is not yet
 * CERTIFIED, each resumed from the step it reached. One tenant's failure is recorded (attempts,
 * last_error) and does not stop the others; the next run resumes it.
 */
export async function runTenantErasure(deps: ErasureDeps): Promise<ErasureOutcome[]> {
  const due = await forkForOperator(deps.orm).transactional((em) => store.dueDeletions(em));
  const outcomes: ErasureOutcome[] = [];
  for (const tenantId of due) outcomes.push(await eraseTenant(deps, tenantId));
  return outcomes;
}

/** The erasure at start and then every `intervalMs` (see PeriodicJob). */
export function tenantErasureJob(deps: ErasureDeps): PeriodicJob {
  const log = deps.log.child({ component: 'tenant-erasure' });
  return new PeriodicJob('tenant erasure', log, async () => {
    const outcomes = await runTenantErasure({ ...deps, log });
    if (outcomes.length > 0) log.info({ outcomes: outcomes.map(({ tenantId, status }) => ({ tenantId, status })) }, 'tenant erasure');
  });
}

/**
 * Erases one tenant step by step. Each step's database work and the record of the step commit in one
 * transaction (a failure rolls both back: nothing half-done); the steps outside the database (the
 * container engine, backup files) are idempotent and recorded once they have finished, so a step
 * interrupted there is simply done again. Steps, in order:
 * 1. ERASING: no way back (cancel is refused from now on); audited.
 * 2. RUNTIME_REMOVED: every container, workspace volume and the network of the tenant removed.
 * 3. KEYS_DESTROYED: every wrapped data key of the tenant deleted (destroy_tenant_keys): credentials,
 *    memory keys and their escrow, sharing keys. From here the tenant's encrypted rows are unreadable.
 * 4. BACKUPS_SHREDDED: every backup archive of the tenant deleted with the archive key wrapped inside
 *    it; a tombstone (`<backup id>.shredded`, no key, no data) keeps the list for the certificate.
 * 5. ROWS_DELETED: every row in both tiers but the audit log (erase_tenant_rows).
 * 6. CERTIFIED: the `tenant.erased` event closes the audit chain; the certificate is signed over
 *    its head and stored; the tenant becomes DELETED.
 */
export async function eraseTenant(deps: ErasureDeps, tenantId: string): Promise<ErasureOutcome> {
  const log = deps.log.child({ component: 'tenant-erasure', tenantId });
  let step: ErasureStep = 'REQUESTED';
  try {
    for (;;) {
      step = await stepOf(deps.orm, tenantId);
      if (step === 'CERTIFIED') {
        const certificate = (await deletionRow(deps.orm, tenantId))?.certificate;
        if (!certificate) throw new Error('certified without a certificate');
        return { tenantId, status: 'erased', certificate };
      }
      log.info({ step }, 'tenant erasure: next step');
      await STEP_RUNNERS[step](deps, tenantId);
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log.error({ err: error, step }, 'tenant erasure step failed; the next run resumes from it');
    await forkForOperator(deps.orm)
      .transactional((em) => store.noteDeletionFailure(em, tenantId, message))
      .catch((cause: unknown) => log.error({ err: cause }, 'tenant erasure failure could not be recorded'));
    return { tenantId, status: 'failed', step, error: message };
  }
}

type StepRunner = (deps: ErasureDeps, tenantId: string) => Promise<void>;

const STEP_RUNNERS: Record<Exclude<ErasureStep, 'CERTIFIED'>, StepRunner> = {
  REQUESTED: (deps, tenantId) =>
    inErasureStep(deps, tenantId, 'REQUESTED', async (em) => {
      await store.appendErasureEvent(em, tenantId, 'tenant.erasure.start', {});
      return {};
    }),

  ERASING: async (deps, tenantId) => {
    const agentIds = await forkForTenant(deps.orm, tenantId).transactional((em) => store.agentIdsOf(em, tenantId));
    let containers = 0;
    let volumes = 0;
    let networks = 0;
    if (deps.engine) {
      const labelled = (await deps.engine.list()).filter((container) => container.tenantId === tenantId).map((c) => c.agentId);
      containers = labelled.length;
      // Every agent of the tenant, with or without a container: a stopped agent's workspace volume goes too.
      const agents = new Set([...labelled, ...agentIds]);
      for (const agentId of agents) await deps.engine.remove(agentId);
      volumes = agents.size;
      const own = (await deps.engine.listNetworks()).filter((network) => network.tenantId === tenantId);
      for (const network of own) {
        if (!(await deps.engine.removeNetwork(network.tenantId))) throw new Error('the tenant network still has containers attached');
      }
      networks = own.length;
    }
    await inErasureStep(deps, tenantId, 'ERASING', async () => ({
      runtime: { containers, volumes, networks, engine: deps.engine ? deps.engine.kind : 'none' },
    }));
  },

  RUNTIME_REMOVED: (deps, tenantId) =>
    inErasureStep(deps, tenantId, 'RUNTIME_REMOVED', async (em) => {
      return { destroyedKeys: await store.destroyTenantKeys(em, tenantId) };
    }),

  KEYS_DESTROYED: async (deps, tenantId) => {
    const backupIds = await shredBackups(deps.backupDir, tenantId);
    await inErasureStep(deps, tenantId, 'KEYS_DESTROYED', async () => ({ backupArchives: backupIds }));
  },

  BACKUPS_SHREDDED: (deps, tenantId) =>
    inErasureStep(deps, tenantId, 'BACKUPS_SHREDDED', async (em) => {
      return { rows: await store.eraseTenantRows(em, tenantId) };
    }),

  ROWS_DELETED: async (deps, tenantId) => {
    await inErasureTransaction(deps, tenantId, async (em) => {
      await store.lockDeletion(em, tenantId);
      const row = await store.certificateFacts(em, tenantId);
      if (!row) throw new Error('the deletion record is gone');
      const { progress } = row;
      const head = await store.appendErasureEvent(em, tenantId, 'tenant.erased', {
        rows: progress.rows,
        runtime: progress.runtime,
        keysDestroyed: Object.values(progress.destroyedKeys ?? {}).reduce((n, ids) => n + ids.length, 0),
        backupArchives: progress.backupArchives?.length ?? 0,
      });
      const certificate: DeletionCertificate = {
        format: CERTIFICATE_FORMAT,
        tenantId,
        region: deps.region,
        plan: row.plan,
        requestedAt: row.requestedAt.toISOString(),
        dueAt: row.dueAt.toISOString(),
        erasedAt: new Date().toISOString(),
        auditChainHead: head,
        auditRetentionDays: row.auditRetentionDays,
        counts: {
          rows: progress.rows ?? {},
          containers: progress.runtime?.containers ?? 0,
          volumes: progress.runtime?.volumes ?? 0,
          networks: progress.runtime?.networks ?? 0,
          backupArchives: progress.backupArchives?.length ?? 0,
        },
        destroyedKeys: {
          credentialKeys: progress.destroyedKeys?.credentialKeys ?? [],
          memoryKeys: progress.destroyedKeys?.memoryKeys ?? [],
          memoryKeyEscrow: progress.destroyedKeys?.memoryKeyEscrow ?? [],
          sharingKeys: progress.destroyedKeys?.sharingKeys ?? [],
          backupArchives: progress.backupArchives ?? [],
        },
        keyId: deps.auditKey.kid,
      };
      const file = signDeletionCertificate(certificate, deps.auditKey);
      await deps.testing?.beforeCommit?.('ROWS_DELETED', tenantId);
      await store.finishDeletion(em, tenantId, file);
    });
  },
};

/**
 * One database step: lock the deletion (it must be at `from`), do the work, record the next step
 * with what the work returned, commit. All or nothing.
 */
async function inErasureStep(
  deps: ErasureDeps,
  tenantId: string,
  from: ErasureStep,
  work: (em: EntityManager) => Promise<Partial<Progress>>,
): Promise<void> {
  const to = ERASURE_STEPS[ERASURE_STEPS.indexOf(from) + 1] as ErasureStep;
  await inErasureTransaction(deps, tenantId, async (em) => {
    const locked = await store.lockDeletion(em, tenantId);
    if (locked !== from) throw new Error(`the deletion moved on to ${locked} meanwhile`);
    const progress = await work(em);
    await store.advanceDeletion(em, tenantId, from, to, progress);
    await deps.testing?.beforeCommit?.(from, tenantId);
  });
}

/**
 * A transaction under the tenant's own setting and search_path (so its audit events chain in the
 * tier that holds them) and the operator setting the erasure functions require. The gateway's own
 * job, for no principal; the tenant id comes from tenant_deletions, never from a client.
 */
function inErasureTransaction<T>(deps: ErasureDeps, tenantId: string, work: (em: EntityManager) => Promise<T>): Promise<T> {
  return forkForTenant(deps.orm, tenantId).transactional(async (em) => {
    await store.enterErasure(em);
    return work(em);
  });
}

const BACKUP_OF = (tenantId: string) => new RegExp(`^(${tenantId}-\\d{8}T\\d{9}Z\\.fgbackup)(\\.shredded)?$`);

/**
 * Deletes every archive of the tenant in the region's backup directory (each archive carries its own
 * wrapped data key, so the key goes with it), leaving a tombstone per archive first, so a run that
 * stops halfway still lists every archive the next time. Answers the backup ids.
 */
async function shredBackups(dir: string | undefined, tenantId: string): Promise<string[]> {
  if (!dir) return [];
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const pattern = BACKUP_OF(tenantId);
  const ids = new Set<string>();
  for (const name of await readdir(dir)) {
    const match = pattern.exec(name);
    if (!match?.[1]) continue;
    ids.add(match[1]);
    if (!match[2]) {
      await writeFile(join(dir, `${name}.shredded`), JSON.stringify({ backupId: name, shreddedAt: new Date().toISOString() }), {
        mode: 0o600,
      });
      await unlink(join(dir, name));
    }
  }
  return [...ids].sort();
}

async function stepOf(orm: MikroORM, tenantId: string): Promise<ErasureStep> {
  const row = await deletionRow(orm, tenantId);
  if (!row) throw new Error('no deletion record');
  return row.step;
}

function deletionRow(orm: MikroORM, tenantId: string): Promise<DeletionRecord | undefined> {
  return forkForOperator(orm).transactional((em) => store.deletionOf(em, tenantId));
}
