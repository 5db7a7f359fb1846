import type { TokenIssuer } from '../../auth/tokens.ts';
import type { Logger } from '../../shared/logger.ts';
import type { ChannelExtensions } from '../provisioning/agent-channel.ts';

export interface MemoryChannelDeps {
  tokens: TokenIssuer;
  log: Logger;
  /** The gateway's own GraphQL endpoint, in process (`yoga.fetch`): channel requests cross every wall a client's do. */
  fetch: (request: Request) => Promise<Response>;
}

/**
 * Agent memory over the agent's channel, authenticated by the agent's token, not by the channel:
 *   MEMPUT <jwt> <b64 key> <b64 JSON>  -> OK | ERR <code>
 *   MEMGET <jwt> <b64 key>       -> VALUE <b64 JSON> | NONE | ERR <code>
 *   RENEW <jwt>                  -> TOKEN <jwt>   (a fresh expiry for the same start's token)
 * Each request becomes a GraphQL request to the gateway with the token as its bearer, so the access
 * gate, the scopes, the ORM filters and RLS all apply as for any client; the channel adds one check
 * of its own: the token must be the channel's agent's. The token itself arrives in the agent's
 * environment at each container start (`FLEETGATE_AGENT_TOKEN`, see agentTokenStartSecret).
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
        const answer = await this.#graphql(agent, token, 'mutation { renewAgentToken { token } }', {});
        return 'error' in answer
          ? `ERR ${answer.error}`
          : `TOKEN ${(answer.data as { renewAgentToken: { token: string } }).renewAgentToken.token}`;
      }
      case 'MEMPUT': {
        const [token = '', key = '', value = ''] = args;
        const answer = await this.#graphql(agent, token, 'mutation ($i: PutMemoryInput!) { putMemory(input: $i) { entry { key } } }', {
          i: { key: unb64(key), value: unb64(value) },
        });
        return 'error' in answer ? `ERR ${answer.error}` : 'OK';
      }
      case 'MEMGET': {
        const [token = '', key = ''] = args;
        const answer = await this.#graphql(agent, token, 'query ($k: String!) { memoryEntry(key: $k) { value } }', { k: unb64(key) });
        if ('error' in answer) return `ERR ${answer.error}`;
        const value = (answer.data as { memoryEntry: { value: string } | null }).memoryEntry?.value;
        return value === undefined ? 'NONE' : `VALUE ${Buffer.from(value, 'utf8').toString('base64')}`;
      }
      default:
        return undefined;
    }
  }

  async #graphql(
    agent: { agentId: string },
    token: string,
    query: string,
    variables: Record<string, unknown>,
  ): Promise<{ data: unknown } | { error: string }> {
    const principal = await this.#deps.tokens.verify(token);
    // A token of another agent (stolen, or replayed into this channel) is refused here before anything runs.
    if (principal?.kind !== 'agent' || principal.agentId !== agent.agentId) return { error: 'UNAUTHENTICATED' };
    const response = await this.#deps.fetch(
      new Request('http://gateway.internal/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      }),
    );
    const body = (await response.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] };
    if (body.errors?.length) {
      const code = body.errors[0]?.extensions?.code ?? 'INTERNAL_SERVER_ERROR';
      this.#log.debug({ agentId: agent.agentId, code }, 'channel memory request refused');
      return { error: code };
    }
    return { data: body.data };
  }
}

function unb64(value: string): string {
  return Buffer.from(value, 'base64').toString('utf8');
}
