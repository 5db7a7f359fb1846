import type { FieldNode } from 'graphql';
import { builder } from '../../builder.ts';
import { registerLeanRootField } from '../../db/lean-transaction.ts';
import { encodeGlobalId } from '../../shared/global-id.ts';
import { keysetConnection } from '../common/index.ts';
import { HARDENING, SANDBOX_LEVELS } from '../provisioning/index.ts';
import { AGENT_STATUSES, type AgentRecord, DESIRED_STATES } from './agent.entity.ts';
import {
  agentLogs,
  createAgent,
  deleteAgent,
  getAgent,
  LEAN_UPDATE_FIELDS,
  listAgents,
  loadAgents,
  transitionAgent,
  updateAgent,
} from './agent.service.ts';

export const AgentStatus = builder.enumType('AgentStatus', { values: AGENT_STATUSES });
const AgentDesiredState = builder.enumType('AgentDesiredState', { values: DESIRED_STATES });
export const SandboxLevel = builder.enumType('SandboxLevel', {
  description:
    'RUNC: a hardened container on the host kernel. GVISOR: the same container under gVisor, a user-space kernel (no network). See docs/security-model.md.',
  values: SANDBOX_LEVELS,
});
const AgentNetwork = builder.enumType('AgentNetwork', {
  values: {
    NONE: { description: 'Only loopback.' },
    TENANT: { description: "The tenant's own internal network; its only way out is the gateway's egress proxy." },
  },
});

/** How the agent is isolated: what it asked for and what its container runs under. */
const AgentSandboxRef = builder.objectRef<AgentRecord>('AgentSandbox').implement({
  fields: (t) => ({
    requested: t.field({
      type: SandboxLevel,
      nullable: true,
      description: "The agent's own level; null: its tenant's plan level, else RUNC.",
      resolve: (agent) => agent.sandbox ?? null,
    }),
    runtime: t.field({
      type: SandboxLevel,
      nullable: true,
      description: 'The level its container last ran under; null before its first start.',
      resolve: (agent) => agent.sandboxRuntime ?? null,
    }),
    network: t.field({ type: AgentNetwork, resolve: (agent) => (agent.egress ? 'TENANT' : 'NONE') }),
    workspaceMb: t.int({
      nullable: true,
      description: 'Size of its workspace file system, MB (writes past it fail); null before its first start.',
      resolve: (agent) => agent.workspaceMb ?? null,
    }),
    scratchMb: t.int({ description: 'Size of its memory-backed /tmp, MB.', resolve: () => HARDENING.scratchMb }),
  }),
});

/** What the engine last reported for the agent's container, and the limits it runs under. */
const AgentRuntimeRef = builder.objectRef<AgentRecord>('AgentRuntime').implement({
  fields: (t) => ({
    image: t.string({ nullable: true, description: 'The engine image the container runs.', resolve: (agent) => agent.runtimeImage }),
    command: t.stringList({ nullable: true, resolve: (agent) => agent.command }),
    startedAt: t.field({ type: 'DateTime', nullable: true, resolve: (agent) => agent.startedAt }),
    exitCode: t.int({ nullable: true, resolve: (agent) => agent.exitCode }),
    memoryMb: t.int({ resolve: (agent) => agent.memoryMb }),
    cpuMillis: t.int({ resolve: (agent) => agent.cpuMillis }),
    pidsLimit: t.int({ resolve: () => HARDENING.pidsLimit }),
    crashCount: t.int({
      description: 'Times the container exited on its own in the current crash-loop window (restarts stop past the cap).',
      resolve: (agent) => agent.crashCount,
    }),
  }),
});

/** Managed entities (node, mutations) and plain rows (the `agents` list) render alike: the type reads fields only. */
export const AgentRef = builder.node(builder.objectRef<AgentRecord>('Agent'), {
  id: { resolve: (agent) => agent.id },
  authScopes: (agent) => ({ $all: { can: 'agent.read', sameTenant: agent.tenantId } }),
  loadMany: (ids, ctx) => loadAgents(ctx, ids),
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    image: t.exposeString('image'),
    config: t.expose('config', { type: 'JSONObject' }),
    status: t.field({ type: AgentStatus, resolve: (agent) => agent.status }),
    statusReason: t.exposeString('statusReason', {
      nullable: true,
      description: 'Why the agent is in its status, when it is not obvious.',
    }),
    desiredState: t.field({ type: AgentDesiredState, resolve: (agent) => agent.desiredState }),
    command: t.stringList({ nullable: true, resolve: (agent) => agent.command }),
    egress: t.exposeBoolean('egress', {
      description:
        "Whether the agent's container is on its tenant's internal network, its only way out the egress proxy (else: no network).",
    }),
    egressRules: t.exposeStringList('egressRules', {
      description: 'What the egress proxy lets the agent reach: `host:port` rules, exact names or `*.` wildcards; empty: nothing.',
    }),
    runtime: t.field({ type: AgentRuntimeRef, resolve: (agent) => agent }),
    sandbox: t.field({ type: AgentSandboxRef, resolve: (agent) => agent }),
    logs: t.string({
      description: "The last lines of the agent container's output.",
      args: { tail: t.arg.int({ defaultValue: 100 }) },
      resolve: (agent, { tail }, ctx) => agentLogs(ctx, agent, tail ?? 100),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

/** Fields of Agent served from its own row, and the properties each reads (`id` is always read). */
const AGENT_ROW_FIELDS: Record<string, readonly string[]> = {
  __typename: [],
  id: [],
  name: ['name'],
  description: ['description'],
  image: ['image'],
  config: ['config'],
  status: ['status'],
  statusReason: ['statusReason'],
  desiredState: ['desiredState'],
  command: ['command'],
  egress: ['egress'],
  egressRules: ['egressRules'],
  createdAt: ['createdAt'],
  updatedAt: ['updatedAt'],
};

/** The selections of a field when they are all plain fields (no fragment); undefined otherwise. */
function fieldsOf(node: FieldNode): readonly FieldNode[] | undefined {
  const selections = node.selectionSet?.selections ?? [];
  return selections.every((selection) => selection.kind === 'Field') ? (selections as readonly FieldNode[]) : undefined;
}

/**
 * The properties a selection of Agent fields reads, added to `properties`; false when it selects
 * anything not served from the agent's own row (a fragment, `runtime`, `logs`).
 */
function addRowProperties(agentFields: readonly FieldNode[] | undefined, properties: Set<string>): boolean {
  if (!agentFields) return false;
  for (const agentField of agentFields) {
    const read = AGENT_ROW_FIELDS[agentField.name.value];
    if (!read) return false;
    for (const property of read) properties.add(property);
  }
  return true;
}

/**
 * The properties a selection of `agents` reads (read what was asked, issue 24), or undefined when it
 * selects anything else (a fragment, `runtime`, `logs`): then every column, and no lean read.
 * `tenantId` always: the Agent type's scope compares it with the caller's tenant.
 */
function agentPropertiesOf(field: FieldNode): string[] | undefined {
  const properties = new Set<string>(['tenantId']);
  const connectionFields = fieldsOf(field);
  if (!connectionFields) return undefined;
  for (const connectionField of connectionFields) {
    const name = connectionField.name.value;
    if (name === '__typename' || name === 'pageInfo') continue;
    const edgeFields = name === 'edges' ? fieldsOf(connectionField) : undefined;
    if (!edgeFields) return undefined;
    for (const edgeField of edgeFields) {
      if (edgeField.name.value === '__typename' || edgeField.name.value === 'cursor') continue;
      if (edgeField.name.value !== 'node' || !addRowProperties(fieldsOf(edgeField), properties)) return undefined;
    }
  }
  return [...properties].sort();
}

/** The properties an `AgentPayload` selection reads of its agent, or undefined when it asks for more than the row. */
function payloadPropertiesOf(field: FieldNode): string[] | undefined {
  const properties = new Set<string>(['tenantId']);
  const payloadFields = fieldsOf(field);
  if (!payloadFields) return undefined;
  for (const payloadField of payloadFields) {
    if (payloadField.name.value === '__typename') continue;
    if (payloadField.name.value !== 'agent' || !addRowProperties(fieldsOf(payloadField), properties)) return undefined;
  }
  return [...properties].sort();
}

/**
 * Whether `updateAgent`'s input, as written in the document with these variables, changes only
 * LEAN_UPDATE_FIELDS. Conservative: a field given by a variable counts as set unless the variable is
 * sent as null (a variable left out may have a default), and an input that is not an object literal
 * or an object variable does not qualify.
 */
function changesOnlyRowFields(field: FieldNode, variables: Readonly<Record<string, unknown>>): boolean {
  const input = field.arguments?.find((argument) => argument.name.value === 'input')?.value;
  let given: string[];
  if (input?.kind === 'Variable') {
    const value = variables[input.name.value];
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
    given = Object.entries(value).flatMap(([key, each]) => (each === null || each === undefined ? [] : [key]));
  } else if (input?.kind === 'ObjectValue') {
    given = input.fields.flatMap(({ name, value }) => {
      const unset = value.kind === 'NullValue' || (value.kind === 'Variable' && variables[value.name.value] === null);
      return unset ? [] : [name.value];
    });
  } else {
    return false;
  }
  return given.every((key) => key === 'id' || LEAN_UPDATE_FIELDS.has(key));
}

registerLeanRootField('query', 'agents', (field) => agentPropertiesOf(field) !== undefined);
registerLeanRootField(
  'mutation',
  'updateAgent',
  (field, variables) => changesOnlyRowFields(field, variables) && payloadPropertiesOf(field) !== undefined,
);

builder.queryFields((t) => ({
  agents: t.connection({
    description: "The caller's tenant's agents, oldest first.",
    type: AgentRef,
    skipTypeScopes: true,
    authScopes: { can: 'agent.read' },
    resolve: (_root, args, ctx, info) => {
      const properties = info.fieldNodes.length === 1 && info.fieldNodes[0] ? agentPropertiesOf(info.fieldNodes[0]) : undefined;
      return keysetConnection(args, (page) => listAgents(ctx, page, properties));
    },
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
    command: t.stringList({ description: "One of the allow-listed commands for the image; omitted: the image's default." }),
    memoryMb: t.int({ description: 'Memory limit, MB (default 64).' }),
    cpuMillis: t.int({ description: 'CPU limit, thousandths of a CPU (default 250).' }),
    egress: t.boolean({ description: "Owners and admins: join the tenant's own network (default: no network)." }),
    egressRules: t.stringList({
      description: 'Owners and admins: the egress allow-list, `host:port` rules (`api.example.com:443`, `*.example.com:443`).',
    }),
    sandbox: t.field({
      type: SandboxLevel,
      description: "Default: the tenant's plan level, else RUNC.",
    }),
  }),
});

const UpdateAgentInput = builder.inputType('UpdateAgentInput', {
  fields: (t) => ({
    id: t.globalID({ required: true, for: AgentRef }),
    name: t.string(),
    description: t.string(),
    image: t.string(),
    config: t.field({ type: 'JSONObject' }),
    command: t.stringList(),
    memoryMb: t.int(),
    cpuMillis: t.int(),
    egress: t.boolean({ description: 'Owners and admins; a running agent is recreated on its new network at once.' }),
    egressRules: t.stringList({ description: "Owners and admins; replaces the allow-list, applied to a running agent's proxy at once." }),
    sandbox: t.field({ type: SandboxLevel, description: 'Applies from the next restartAgent.' }),
  }),
});

const AgentPayload = builder.objectRef<{ agent: AgentRecord }>('AgentPayload').implement({
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
    resolve: async (_root, { input }, ctx) => ({ agent: await createAgent(ctx, withoutNulls(input)) }),
  }),
  updateAgent: t.field({
    type: AgentPayload,
    skipTypeScopes: true,
    authScopes: { can: 'agent.write' },
    args: { input: t.arg({ type: UpdateAgentInput, required: true }) },
    resolve: async (_root, { input: { id, ...changes } }, ctx, info) => ({
      agent: await updateAgent(ctx, id.id, withoutNulls(changes), info.fieldNodes[0] && payloadPropertiesOf(info.fieldNodes[0])),
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
  ...Object.fromEntries(
    (['start', 'stop', 'restart'] as const).map((transition) => [
      `${transition}Agent`,
      t.field({
        type: AgentPayload,
        skipTypeScopes: true,
        authScopes: { can: 'agent.write' },
        args: { id: t.arg.globalID({ required: true, for: AgentRef }) },
        resolve: async (_root, { id }, ctx) => ({ agent: await transitionAgent(ctx, id.id, transition) }),
      }),
    ]),
  ),
}));

/** GraphQL sends omitted optional fields as null; an update changes only what was given. */
function withoutNulls<T extends Record<string, unknown>>(input: T): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== null && value !== undefined)) as Partial<T>;
}
