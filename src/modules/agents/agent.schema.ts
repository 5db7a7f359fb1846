import { builder } from '../../builder.ts';
import { encodeGlobalId } from '../../shared/global-id.ts';
import { keysetConnection } from '../common/connection.ts';
import { AGENT_STATUSES, Agent } from './agent.entity.ts';
import { createAgent, deleteAgent, getAgent, listAgents, loadAgents, updateAgent } from './agent.service.ts';

const AgentStatus = builder.enumType('AgentStatus', { values: AGENT_STATUSES });

export const AgentRef = builder.node(Agent, {
  name: 'Agent',
  id: { resolve: (agent) => agent.id },
  authScopes: (agent) => ({ $all: { can: 'agent.read', sameTenant: agent.tenantId } }),
  loadMany: (ids, ctx) => loadAgents(ctx, ids),
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    image: t.exposeString('image'),
    config: t.expose('config', { type: 'JSONObject' }),
    status: t.field({ type: AgentStatus, resolve: (agent) => agent.status }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  agents: t.connection({
    description: "The caller's tenant's agents, oldest first.",
    type: AgentRef,
    skipTypeScopes: true,
    authScopes: { can: 'agent.read' },
    resolve: (_root, args, ctx) => keysetConnection(args, (page) => listAgents(ctx, page)),
  }),
  agent: t.field({
    type: AgentRef,
    skipTypeScopes: true,
    authScopes: { can: 'agent.read' },
    args: { id: t.arg.globalID({ required: true, for: AgentRef }) },
    resolve: (_root, { id }, ctx) => getAgent(ctx, id.id),
  }),
}));

const CreateAgentInput = builder.inputType('CreateAgentInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    description: t.string(),
    image: t.string({ required: true }),
    config: t.field({ type: 'JSONObject' }),
  }),
});

const UpdateAgentInput = builder.inputType('UpdateAgentInput', {
  fields: (t) => ({
    id: t.globalID({ required: true, for: AgentRef }),
    name: t.string(),
    description: t.string(),
    image: t.string(),
    config: t.field({ type: 'JSONObject' }),
  }),
});

const AgentPayload = builder.objectRef<{ agent: Agent }>('AgentPayload').implement({
  fields: (t) => ({ agent: t.expose('agent', { type: AgentRef }) }),
});

const DeleteAgentPayload = builder.objectRef<{ deletedAgentId: string }>('DeleteAgentPayload').implement({
  fields: (t) => ({ deletedAgentId: t.exposeID('deletedAgentId') }),
});

builder.mutationFields((t) => ({
  createAgent: t.field({
    type: AgentPayload,
    skipTypeScopes: true,
    authScopes: { can: 'agent.write' },
    args: { input: t.arg({ type: CreateAgentInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ agent: await createAgent(ctx, input) }),
  }),
  updateAgent: t.field({
    type: AgentPayload,
    skipTypeScopes: true,
    authScopes: { can: 'agent.write' },
    args: { input: t.arg({ type: UpdateAgentInput, required: true }) },
    resolve: async (_root, { input: { id, ...changes } }, ctx) => ({
      agent: await updateAgent(ctx, id.id, withoutNulls(changes)),
    }),
  }),
  deleteAgent: t.field({
    type: DeleteAgentPayload,
    skipTypeScopes: true,
    authScopes: { can: 'agent.write' },
    args: { id: t.arg.globalID({ required: true, for: AgentRef }) },
    resolve: async (_root, { id }, ctx) => ({
      deletedAgentId: encodeGlobalId('Agent', await deleteAgent(ctx, id.id)),
    }),
  }),
}));

/** GraphQL sends omitted optional fields as null; an update changes only what was given. */
function withoutNulls<T extends Record<string, unknown>>(input: T): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== null && value !== undefined)) as Partial<T>;
}
