import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { assertCan } from '../../auth/actions.ts';
import type { Principal } from '../../auth/principal.ts';
import type { TokenIssuer } from '../../auth/tokens.ts';
import { forkForTenant } from '../../db/request-scope.ts';
import type { RequestScope } from '../../request/scope.ts';
import type { Secret } from '../../shared/secret.ts';
import type { StartSecretSource } from '../credentials/index.ts';
import { nextTokenGeneration, revokeTokenGeneration } from './memory.store.ts';

/** Agent tokens are short-lived: the agent renews its own before expiry (`renewAgentToken`). */
export const AGENT_TOKEN_TTL_SECONDS = 15 * 60;

type AgentPrincipal = Extract<Principal, { kind: 'agent' }>;

/**
 * Mints the token for one container start of an agent. Moving the agent's token generation on
 * revokes every token of its earlier starts in the same statement, on every replica (each request
 * compares the generation in its first statement, see `enterAgentRequest` in src/db/request-scope.ts). Runs in the caller's transaction, under the
 * agent's tenant (RLS). Returns undefined when the agent does not exist (deleted meanwhile).
 */
export async function mintAgentTokenIn(
  em: EntityManager,
  tokens: TokenIssuer,
  agent: { id: string; tenantId: string },
): Promise<Secret | undefined> {
  const generation = await nextTokenGeneration(em, agent.id);
  if (generation === undefined) return undefined;
  return tokens.issue({ kind: 'agent', tenantId: agent.tenantId, agentId: agent.id, generation }, `${AGENT_TOKEN_TTL_SECONDS}s`);
}

/** mintAgentTokenIn in a transaction of its own (tests, benchmarks, tools). */
export async function mintAgentToken(
  deps: { orm: MikroORM; tokens: TokenIssuer },
  agent: { id: string; tenantId: string },
): Promise<Secret | undefined> {
  return forkForTenant(deps.orm, agent.tenantId).transactional((tx) => mintAgentTokenIn(tx, deps.tokens, agent));
}

/** The environment variable holding the agent's token in its process. */
export const AGENT_TOKEN_VARIABLE = 'FLEETGATE_AGENT_TOKEN';

/**
 * Every container start delivers a fresh agent token with the agent's other start secrets (the
 * answer to START on its channel, never the container's stored config), revoking the previous start's.
 */
export function agentTokenStartSecret(tokens: TokenIssuer): StartSecretSource {
  return async (em, agent) => {
    const token = await em.transactional((tx) => mintAgentTokenIn(tx, tokens, { id: agent.agentId, tenantId: agent.tenantId }));
    return token ? [{ name: AGENT_TOKEN_VARIABLE, value: token }] : [];
  };
}

/**
 * Revokes every token of the agent at once (its container stops). Runs in the caller's
 * tenant-bound transaction. Deleting the agent needs no call: the row, and with it the generation, is gone.
 */
export async function revokeAgentTokens(em: EntityManager, agentId: string): Promise<void> {
  await em.transactional((tx) => revokeTokenGeneration(tx, agentId));
}

/**
 * The agent renews its own token: same agent, same generation, a fresh expiry. Only an agent may,
 * and only for itself (its principal is the only input), so a stolen token cannot outlive a stop.
 */
export async function renewAgentToken(scope: RequestScope & { tokens: TokenIssuer }): Promise<{ token: Secret; expiresAt: Date }> {
  assertCan(scope.principal, 'agent.self.token');
  const principal = scope.principal as AgentPrincipal;
  const token = await scope.tokens.issue(
    { kind: 'agent', tenantId: principal.tenantId, agentId: principal.agentId, generation: principal.generation },
    `${AGENT_TOKEN_TTL_SECONDS}s`,
  );
  return { token, expiresAt: new Date(Date.now() + AGENT_TOKEN_TTL_SECONDS * 1000) };
}
