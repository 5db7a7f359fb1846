import { randomUUID } from 'node:crypto';
import type { Principal } from '../../auth/principal.ts';
import type { TokenIssuer } from '../../auth/tokens.ts';
import type { Regions } from '../../db/regions.ts';
import { forkForRequest } from '../../db/request-scope.ts';
import type { KeyProvider } from '../../keys/index.ts';
import { isGraphQLError, unauthenticated } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { recordOutsideRequest } from '../audit/index.ts';
import type { AccessGate, RateLimits } from '../policy/index.ts';
import type { ChannelExtensions } from '../provisioning/index.ts';
import { getMemory, type MemoryScope, putMemory } from './memory.service.ts';

export interface MemoryChannelDeps {
  tokens: TokenIssuer;
  log: Logger;
  /** Tenant freeze and lockdown, as for every GraphQL request. */
  gate: AccessGate;
  /** The tenant's request budget, shared with its GraphQL operations. */
  rateLimits: RateLimits;
  regions: Regions;
  /** Wraps the agents' data keys. */
  keys: { provider: KeyProvider };
  /** The gateway's own GraphQL endpoint, in process (`yoga.fetch`), for RENEW. */
  fetch: (request: Request) => Promise<Response>;
}

type AgentPrincipal = Extract<Principal, { kind: 'agent' }>;

/**
 * Agent memory over the agent's channel, authenticated by the agent's token, not by the channel:
 *   MEMPUT <jwt> <b64 key> <b64 JSON>  -> OK | ERR <code>
 *   MEMGET <jwt> <b64 key>       -> VALUE <b64 JSON> | NONE | ERR <code>
 *   RENEW <jwt>                  -> TOKEN <jwt>   (a fresh expiry for the same start's token)
 * The token arrives in the agent's environment at each container start (`FLEETGATE_AGENT_TOKEN`,
 * see agentTokenStartSecret).
 *
 * MEMPUT and MEMGET are the agent's hot path and call the memory service directly rather than through
 * GraphQL (a GraphQL request alone costs about what the goal allows for the whole read, docs/benchmarks.md,
 * "Agent memory"). They cross the same gates and walls as the `putMemory` and `memoryEntry` fields:
 * - authentication: the token must verify and be this channel's agent's (a token of another agent,
 *   stolen or replayed into this channel, is refused before anything runs); its liveness is checked
 *   by the request's first statement, as on GraphQL;
 * - the access gate (freeze, lockdown) and the tenant's rate limit, the same objects GraphQL uses;
 * - wall 1's rule, `agent.self.memory`, asserted by the service itself (the resolvers' scope is
 *   the same action); walls 2 and 3 in the service's SQL (the principal's ids, RLS); wall 4 is the channel;
 * - failed writes are audited as GraphQL's request transaction audits them (`Mutation.putMemory`, FAILED).
 * No transaction is opened around them: each of the service's statements enters the agent's request
 * itself (agent_memory_entry and its siblings, migrations/functions/memory.sql), so a read is one message to the database and a write two.
 */
export class MemoryChannel implements ChannelExtensions {
  readonly #deps: MemoryChannelDeps;
  readonly #log: Logger;

  constructor(deps: MemoryChannelDeps) {
    this.#deps = deps;
    this.#log = deps.log.child({ component: 'memory-channel' });
  }

  async handle(agent: { tenantId: string; agentId: string }, verb: string, args: string[]): Promise<string | undefined> {
    switch (verb) {
      case 'RENEW': {
        const [token = ''] = args;
        return this.#renew(agent, token);
      }
      case 'MEMPUT': {
        const [token = '', key = '', value = ''] = args;
        const answer = await this.#memory(agent, token, 'Mutation.putMemory', (scope) =>
          putMemory(scope, { key: unb64(key), value: unb64(value) }),
        );
        return 'error' in answer ? `ERR ${answer.error}` : 'OK';
      }
      case 'MEMGET': {
        const [token = '', key = ''] = args;
        const answer = await this.#memory(agent, token, 'Query.memoryEntry', (scope) => getMemory(scope, unb64(key)));
        if ('error' in answer) return `ERR ${answer.error}`;
        return answer.value ? `VALUE ${Buffer.from(answer.value.value, 'utf8').toString('base64')}` : 'NONE';
      }
      default:
        return undefined;
    }
  }

  /** The channel's own check: a verified agent token of the agent on this channel, or nothing. */
  async #principalOf(agent: { agentId: string }, token: string): Promise<AgentPrincipal | undefined> {
    const principal = await this.#deps.tokens.verify(token);
    return principal?.kind === 'agent' && principal.agentId === agent.agentId ? principal : undefined;
  }

  async #memory<T>(
    agent: { agentId: string },
    token: string,
    action: 'Mutation.putMemory' | 'Query.memoryEntry',
    work: (scope: MemoryScope) => Promise<T>,
  ): Promise<{ value: T } | { error: string }> {
    const principal = await this.#principalOf(agent, token);
    if (!principal) return { error: 'UNAUTHENTICATED' };
    const requestId = randomUUID();
    const log = this.#log.child({ requestId, tenantId: principal.tenantId, agentId: principal.agentId });
    try {
      this.#deps.gate.check(principal);
      const region = await this.#deps.regions.of(principal);
      if (!region) throw unauthenticated(); // its tenant is gone since the token was minted
      const refusal = await this.#deps.rateLimits.admit(principal, { orm: region.orm, requestId, log });
      if (refusal) throw refusal;
      const scope: MemoryScope = { principal, em: forkForRequest(region.orm, principal), requestId, log, keys: this.#deps.keys };
      try {
        return { value: await work(scope) };
      } catch (error) {
        const code = codeOf(error);
        // A token no longer live is refused unaudited, as on GraphQL (its agent was stopped or deleted).
        if (action.startsWith('Mutation.') && code !== 'UNAUTHENTICATED') {
          await recordOutsideRequest({ orm: region.orm, log }, principal, requestId, [
            { action, outcome: 'FAILED', detail: { code, via: 'channel' } },
          ]);
        }
        throw error;
      }
    } catch (error) {
      const code = codeOf(error);
      if (code === 'INTERNAL_SERVER_ERROR') log.error({ err: error }, 'channel memory request failed');
      else log.debug({ code }, 'channel memory request refused');
      return { error: code };
    }
  }

  async #renew(agent: { agentId: string }, token: string): Promise<string> {
    if (!(await this.#principalOf(agent, token))) return 'ERR UNAUTHENTICATED';
    const response = await this.#deps.fetch(
      new Request('http://gateway.internal/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: 'mutation { renewAgentToken { token } }' }),
      }),
    );
    const body = (await response.json()) as {
      data?: { renewAgentToken?: { token: string } };
      errors?: { extensions?: { code?: string } }[];
    };
    const renewed = body.data?.renewAgentToken?.token;
    if (body.errors?.length || !renewed) return `ERR ${body.errors?.[0]?.extensions?.code ?? 'INTERNAL_SERVER_ERROR'}`;
    return `TOKEN ${renewed}`;
  }
}

/** A client error's code; anything else is an internal error, whose message never reaches the agent. */
function codeOf(error: unknown): string {
  return isGraphQLError(error) && typeof error.extensions.code === 'string' ? error.extensions.code : 'INTERNAL_SERVER_ERROR';
}

function unb64(value: string): string {
  return Buffer.from(value, 'base64').toString('utf8');
}
