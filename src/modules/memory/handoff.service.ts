import { z } from 'zod';
import { assertCan } from '../../auth/actions.ts';
import type { Principal } from '../../auth/principal.ts';
import { findPage, type PageArgs } from '../../db/pagination.ts';
import { badInput, notFound } from '../../shared/errors.ts';
import { isUuid, newId } from '../../shared/ids.ts';
import { parseInput } from '../../shared/validation.ts';
import { recordAudit } from '../audit/index.ts';
import { Handoff } from './memory.entity.ts';
import { canonicalJson, type MemoryScope } from './memory.service.ts';
import { agentExists, valueLimit } from './memory.store.ts';
import { withSharingKey } from './sharing-keys.ts';

const sendInput = z.object({ toAgentId: z.string().max(100), payload: z.string() });
type AgentPrincipal = Extract<Principal, { kind: 'agent' }>;

/** A handoff as the API shows it: its payload opened, as JSON text. The stored row holds it sealed. */
export interface HandoffView {
  id: string;
  tenantId: string;
  /** The recipient. */
  agentId: string;
  fromAgentId: string;
  payload: string;
  createdAt: Date;
  receivedAt: Date | null;
}

/**
 * Agent A hands a JSON payload to agent B of its own tenant, audited as `handoff.send`. B is looked
 * up under the tenant's RLS setting only, so another tenant's agent is exactly as absent as a
 * missing one: the same NOT_FOUND, and nothing is written. The payload is stored sealed under the
 * tenant's sharing key.
 */
export async function sendHandoff(scope: MemoryScope, input: unknown): Promise<HandoffView> {
  assertCan(scope.principal, 'agent.self.handoff');
  const self = scope.principal as AgentPrincipal;
  const { toAgentId, payload } = parseInput(sendInput, input);
  const json = canonicalJson(payload);
  const limit = await valueLimit(scope.em);
  const size = Buffer.byteLength(json, 'utf8');
  if (limit !== undefined && size > limit) {
    throw badInput(`payload is too large: ${size} bytes, this tenant allows at most ${limit} bytes`, 'payload');
  }
  if (!(isUuid(toAgentId) && (await agentExists(scope.em, toAgentId)))) throw notFound('Agent', toAgentId);
  if (toAgentId === self.agentId) throw badInput('An agent cannot hand off to itself', 'toAgentId');
  const id = newId();
  const sealedPayload = await withSharingKey(scope, self.tenantId, (key) => key.seal('handoff', id, json));
  const handoff = scope.em.create(Handoff, {
    id,
    tenantId: self.tenantId,
    agentId: toAgentId,
    fromAgentId: self.agentId,
    payload: null,
    sealedPayload,
    receivedAt: null,
  });
  recordAudit(scope, { action: 'handoff.send', targetType: 'Agent', targetId: toAgentId, detail: { handoffId: handoff.id, bytes: size } });
  await scope.em.flush();
  return viewOf(handoff, json);
}

/**
 * The calling agent's inbox, oldest first. Handoffs it sees for the first time are marked received
 * and audited (`handoff.receive`, by the recipient): both ends of every handoff are in the log.
 */
export async function handoffInbox(scope: MemoryScope, page: PageArgs): Promise<HandoffView[]> {
  assertCan(scope.principal, 'agent.self.handoff');
  const self = scope.principal as AgentPrincipal;
  const handoffs = await findPage(scope.em, Handoff, { agentId: self.agentId }, page);
  const now = new Date();
  for (const handoff of handoffs.filter((h) => h.receivedAt === null || h.receivedAt === undefined)) {
    handoff.receivedAt = now;
    recordAudit(scope, {
      action: 'handoff.receive',
      targetType: 'Agent',
      targetId: handoff.fromAgentId,
      detail: { handoffId: handoff.id },
    });
  }
  await scope.em.flush();
  if (handoffs.every((handoff) => !handoff.sealedPayload))
    return handoffs.map((handoff) => viewOf(handoff, JSON.stringify(handoff.payload)));
  return withSharingKey(scope, self.tenantId, (key) =>
    handoffs.map((handoff) =>
      viewOf(
        handoff,
        handoff.sealedPayload ? key.open('handoff', handoff.id, Buffer.from(handoff.sealedPayload)) : JSON.stringify(handoff.payload),
      ),
    ),
  );
}

function viewOf(handoff: Handoff, payload: string): HandoffView {
  const { id, tenantId, agentId, fromAgentId, createdAt } = handoff;
  return { id, tenantId, agentId, fromAgentId, payload, createdAt, receivedAt: handoff.receivedAt ?? null };
}
