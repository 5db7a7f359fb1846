import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { z } from 'zod';
import { assertCan } from '../../auth/actions.ts';
import type { Principal } from '../../auth/principal.ts';
import { findPage, type PageArgs } from '../../db/pagination.ts';
import { AGENT_FILTER } from '../../db/tenant-filter.ts';
import type { RequestScope } from '../../request/scope.ts';
import { clientError, forbidden, notFound } from '../../shared/errors.ts';
import { isUuid, newId } from '../../shared/ids.ts';
import { parseInput } from '../../shared/validation.ts';
import { recordAudit } from '../audit/index.ts';
import { GRANT_MODES, WorkspaceFile, WorkspaceFileGrant } from './memory.entity.ts';
import { assertAgentInTenant, type MemoryScope } from './memory.service.ts';
import { withSharingKey } from './sharing-keys.ts';

const NAME = z
  .string()
  .regex(/^[A-Za-z0-9._-][A-Za-z0-9._/-]{0,199}$/, 'must be 1–200 characters of letters, digits, . _ - /')
  .refine((name) => !name.split('/').includes('..'), 'must not contain ..');
const CONTENT = z.string().refine((text) => Buffer.byteLength(text, 'utf8') <= 1_048_576, 'must be at most 1 MiB');
const createInput = z.object({ name: NAME, content: CONTENT });
const grantInput = z.object({ fileId: z.string().refine(isUuid, 'Invalid UUID'), agentId: z.string().max(100), mode: z.enum(GRANT_MODES) });

type AgentPrincipal = Extract<Principal, { kind: 'agent' }>;

/** A file as the API shows it: its content opened. The stored row holds it sealed under the tenant's sharing key. */
export interface WorkspaceFileView {
  id: string;
  tenantId: string;
  name: string;
  content: string;
  updatedAt: Date;
}

/** Owners and admins create the tenant's shared files; no agent reaches one until it is granted. */
export async function createWorkspaceFile(scope: MemoryScope, input: unknown): Promise<WorkspaceFileView> {
  assertCan(scope.principal, 'workspace.manage');
  const { name, content } = parseInput(createInput, input);
  const id = newId();
  const sealedContent = await withSharingKey(scope, tenantOf(scope), (key) => key.seal('file', id, content));
  const file = scope.em.create(WorkspaceFile, { id, tenantId: tenantOf(scope), name, content: null, sealedContent });
  recordAudit(scope, { action: 'workspace.file.create', targetType: 'WorkspaceFile', targetId: file.id, detail: { name: file.name } });
  try {
    await scope.em.flush();
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) throw clientError('CONFLICT', 'A file with this name already exists');
    throw error;
  }
  return viewOf(file, content);
}

export async function listWorkspaceFiles(scope: MemoryScope, page: PageArgs): Promise<WorkspaceFileView[]> {
  assertCan(scope.principal, 'workspace.manage');
  return openAll(scope, await findPage(scope.em, WorkspaceFile, {}, page));
}

/** Grants one agent READ or WRITE on one file (replacing its earlier grant), audited. */
export async function grantWorkspaceFile(scope: RequestScope, input: unknown): Promise<WorkspaceFileGrant> {
  assertCan(scope.principal, 'workspace.manage');
  const { fileId, agentId, mode } = parseInput(grantInput, input);
  await assertAgentInTenant(scope, agentId);
  if (!(await scope.em.findOne(WorkspaceFile, { id: fileId }))) throw notFound('WorkspaceFile', fileId);
  const grant = await scope.em.upsert(
    WorkspaceFileGrant,
    { fileId, agentId, tenantId: tenantOf(scope), mode, createdAt: new Date() },
    { onConflictFields: ['fileId', 'agentId', 'tenantId'], onConflictMergeFields: ['mode'] },
  );
  recordAudit(scope, { action: 'workspace.grant', targetType: 'WorkspaceFile', targetId: fileId, detail: { agentId, mode } });
  await scope.em.flush();
  return grant;
}

export async function revokeWorkspaceFileGrant(scope: RequestScope, input: unknown): Promise<boolean> {
  assertCan(scope.principal, 'workspace.manage');
  const { fileId, agentId } = parseInput(grantInput.omit({ mode: true }), input);
  await assertAgentInTenant(scope, agentId);
  const deleted = await scope.em.nativeDelete(WorkspaceFileGrant, { fileId }, { filters: { [AGENT_FILTER]: { agentId } } });
  if (deleted > 0) recordAudit(scope, { action: 'workspace.revoke', targetType: 'WorkspaceFile', targetId: fileId, detail: { agentId } });
  await scope.em.flush();
  return deleted > 0;
}

/**
 * The calling agent reads a file granted to it. No grant and no file look the same (NOT_FOUND):
 * an agent learns nothing about files it was not given.
 */
export async function readWorkspaceFile(scope: MemoryScope, name: string): Promise<WorkspaceFileView> {
  assertCan(scope.principal, 'agent.self.workspace');
  const [view] = await openAll(scope, [(await grantedFile(scope, name)).file]);
  if (!view) throw notFound('WorkspaceFile', name);
  return view;
}

/** Writing needs a WRITE grant; a READ grant is FORBIDDEN (the agent already knows the file). Audited. */
export async function writeWorkspaceFile(scope: MemoryScope, input: unknown): Promise<WorkspaceFileView> {
  assertCan(scope.principal, 'agent.self.workspace');
  const { name, content } = parseInput(createInput, input);
  const { file, grant } = await grantedFile(scope, name);
  if (grant.mode !== 'WRITE') throw forbidden('This file is granted read-only');
  file.sealedContent = await withSharingKey(scope, file.tenantId, (key) => key.seal('file', file.id, content));
  file.content = null; // a file written before migrations/0017 is sealed from its first write on
  recordAudit(scope, { action: 'workspace.file.write', targetType: 'WorkspaceFile', targetId: file.id, detail: { name } });
  await scope.em.flush();
  return viewOf(file, content);
}

/** Opens the files' contents with one unwrap of the tenant's sharing key (none when nothing is sealed). */
async function openAll(scope: MemoryScope, files: WorkspaceFile[]): Promise<WorkspaceFileView[]> {
  if (files.every((file) => !file.sealedContent)) return files.map((file) => viewOf(file, file.content ?? ''));
  return withSharingKey(scope, tenantOf(scope), (key) =>
    files.map((file) =>
      viewOf(file, file.sealedContent ? key.open('file', file.id, Buffer.from(file.sealedContent)) : (file.content ?? '')),
    ),
  );
}

function viewOf(file: WorkspaceFile, content: string): WorkspaceFileView {
  return { id: file.id, tenantId: file.tenantId, name: file.name, content, updatedAt: file.updatedAt };
}

async function grantedFile(scope: RequestScope, name: string): Promise<{ file: WorkspaceFile; grant: WorkspaceFileGrant }> {
  const self = scope.principal as AgentPrincipal;
  const valid = NAME.safeParse(name);
  const file = valid.success ? await scope.em.findOne(WorkspaceFile, { name: valid.data }) : null;
  const grant = file ? await scope.em.findOne(WorkspaceFileGrant, { fileId: file.id, agentId: self.agentId }) : null;
  if (!file || !grant) throw notFound('WorkspaceFile', name);
  return { file, grant };
}

function tenantOf(scope: RequestScope): string {
  if (!('tenantId' in scope.principal)) throw new Error('workspace services need a tenant principal');
  return scope.principal.tenantId;
}
