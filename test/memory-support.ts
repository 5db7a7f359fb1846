import { mintAgentToken } from '../src/modules/memory/agent-tokens.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import type { Gateway } from './support/gateway.ts';

type Tenant = Awaited<ReturnType<Gateway['seed']['tenant']>>;

/** An agent of `tenant` with the token the runtime would deliver at its container's start. */
export async function agentWithToken(gw: Gateway, tenant: Tenant, name?: string) {
  const agent = await tenant.agent(name);
  const id = decodeGlobalId(agent.id).id;
  const tenantId = decodeGlobalId(tenant.id).id;
  const token = await mintAgentToken({ orm: gw.orm, tokens: gw.tokens }, { id, tenantId });
  if (!token) throw new Error('agent vanished');
  return { globalId: agent.id, id, tenantId, token: token.reveal() };
}
