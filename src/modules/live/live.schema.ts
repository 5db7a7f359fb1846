import { IsolationLevel } from '@mikro-orm/postgresql';
import type { GraphQLError } from 'graphql';
import { builder } from '../../builder.ts';
import { forkForRequest } from '../../db/request-scope.ts';
import type { Context } from '../../request/context.ts';
import { inTokenTransaction } from '../../request/use-request-transaction.ts';
import { clientError, isGraphQLError } from '../../shared/errors.ts';
import { encodeGlobalId } from '../../shared/global-id.ts';
import type { AgentStatus as AgentStatusName } from '../agents/agent.entity.ts';
import { AgentRef, AgentStatus } from '../agents/agent.schema.ts';
import { getAgent } from '../agents/agent.service.ts';
import type { TASK_STATUSES } from '../tasks/task.entity.ts';
import { TaskRef, TaskStatus } from '../tasks/task.schema.ts';
import { getTask } from '../tasks/task.service.ts';
import { TenantStatus } from '../tenants/tenant.schema.ts';
import { getOwnTenant } from '../tenants/tenant.service.ts';
import { currentSnapshot } from './live.store.ts';
import type { LiveChange } from './live-change.ts';
import type { LiveMessage, LiveSubscriber, LiveTopic, TenantStatusName } from './live-updates.ts';

type TaskStatusName = (typeof TASK_STATUSES)[number];

interface AgentStatusEvent {
  agentId: string;
  status: AgentStatusName;
  at: Date;
}

interface TaskEvent {
  taskId: string;
  agentId: string;
  status: TaskStatusName;
  at: Date;
}

interface TenantStatusEvent {
  status: TenantStatusName;
  at: Date;
}

const AgentStatusEventRef = builder.objectRef<AgentStatusEvent>('AgentStatusEvent').implement({
  description: "An agent's status, when it changes (the first event: its status when the subscription began).",
  fields: (t) => ({
    agentId: t.id({ resolve: (event) => encodeGlobalId('Agent', event.agentId) }),
    status: t.field({ type: AgentStatus, resolve: (event) => event.status }),
    at: t.expose('at', { type: 'DateTime', description: 'When the change was committed.' }),
  }),
});

interface TenantAgentEvent {
  agentId: string | null;
  status: AgentStatusName | null;
  at: Date;
}

const TenantAgentEventRef = builder.objectRef<TenantAgentEvent>('TenantAgentEvent').implement({
  description:
    'One of the tenant’s agents changed. The first event (agentId null) says the stream is open: read the list then, and each later event names an agent that was created, changed status or was deleted (status null).',
  fields: (t) => ({
    agentId: t.id({ nullable: true, resolve: (event) => (event.agentId ? encodeGlobalId('Agent', event.agentId) : null) }),
    status: t.field({ type: AgentStatus, nullable: true, resolve: (event) => event.status }),
    at: t.expose('at', { type: 'DateTime', description: 'When the change was committed.' }),
  }),
});

const TaskEventRef = builder.objectRef<TaskEvent>('TaskEvent').implement({
  description: "A task's status, when it changes; read `task(id) { result }` once it is final.",
  fields: (t) => ({
    taskId: t.id({ resolve: (event) => encodeGlobalId('Task', event.taskId) }),
    agentId: t.id({ resolve: (event) => encodeGlobalId('Agent', event.agentId) }),
    status: t.field({ type: TaskStatus, resolve: (event) => event.status }),
    at: t.expose('at', { type: 'DateTime', description: 'When the change was committed.' }),
  }),
});

const TenantStatusEventRef = builder.objectRef<TenantStatusEvent>('TenantStatusEvent').implement({
  description: "The caller's tenant's status; a status other than ACTIVE is followed by the error that ends the subscription.",
  fields: (t) => ({
    status: t.field({ type: TenantStatus, resolve: (event) => event.status }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

/**
 * Authorization, as for the matching queries and then some:
 * - scopes: the query's action (`agent.read`, `tenant.read`), checked when the subscription opens
 *   (builder.ts `authorizeOnSubscribe`); Subscription's type-level `nobody` denies any field that
 *   forgets its own;
 * - the object: read under the subscriber's tenant (ORM filter and RLS) in a transaction whose first
 *   statement checks the token, as a request's does (inTokenTransaction; the request transaction
 *   does not wrap subscriptions): another tenant's id answers NOT_FOUND, exactly like a missing one;
 * - every event: LiveUpdates delivers a change only to streams of the row's own tenant, and ends
 *   streams the gate, the token or the agent's deletion no longer allows (see LiveUpdates).
 */
builder.subscriptionFields((t) => ({
  agentStatusChanged: t.field({
    description: "The agent's status now, then each change. Ends with AGENT_DELETED when the agent is deleted.",
    type: AgentStatusEventRef,
    skipTypeScopes: true,
    authScopes: { can: 'agent.read' },
    args: { agentId: t.arg.globalID({ required: true, for: AgentRef }) },
    subscribe: (_root, { agentId }, ctx) =>
      open<AgentStatusEvent>(ctx, async () => {
        const { value: agent, snapshot } = await readAtSnapshot(ctx, (em) => getAgent({ ...ctx, em, lean: undefined }, agentId.id));
        return {
          topic: `agent:${agent.id}`,
          agentId: agent.id,
          first: { agentId: agent.id, status: agent.status, at: new Date() },
          snapshot,
          eventOf: (change) => ({ agentId: change.id, status: change.status as AgentStatusName, at: new Date(change.at) }),
        };
      }),
    resolve: eventOrFinalError<AgentStatusEvent>,
  }),
  /**
   * The caller's tenant's agents, for a live list (the console's). Authorized like `agents`: the
   * `agent.read` scope at subscribe time, the token checked in the database then (inTokenTransaction),
   * and the topic is the principal's own tenant, never an argument; every event is then delivered
   * only if the changed row's tenant is the subscriber's (LiveUpdates#deliver), and the stream ends
   * on a freeze, a deletion or the session's end like every other.
   */
  agentsChanged: t.field({
    description: "Every change of the caller's tenant's agents: created, status changed, deleted. The first event says the stream is open.",
    type: TenantAgentEventRef,
    skipTypeScopes: true,
    authScopes: { can: 'agent.read' },
    subscribe: (_root, _args, ctx) =>
      open<TenantAgentEvent>(ctx, async () => {
        const { value: tenant, snapshot } = await readAtSnapshot(ctx, (em) => getOwnTenant({ ...ctx, em, lean: undefined }));
        return {
          topic: `agents:${tenant.id}`,
          deletions: true,
          first: { agentId: null, status: null, at: new Date() },
          snapshot,
          eventOf: (change) => ({
            agentId: change.agentId,
            status: change.status === 'DELETED' ? null : (change.status as AgentStatusName),
            at: new Date(change.at),
          }),
        };
      }),
    resolve: eventOrFinalError<TenantAgentEvent>,
  }),
  taskUpdated: t.field({
    description: "The task's status now, then each change. Ends with AGENT_DELETED when its agent is deleted.",
    type: TaskEventRef,
    skipTypeScopes: true,
    authScopes: { can: 'agent.read' },
    args: { taskId: t.arg.globalID({ required: true, for: TaskRef }) },
    subscribe: (_root, { taskId }, ctx) =>
      open<TaskEvent>(ctx, async () => {
        const { value: task, snapshot } = await readAtSnapshot(ctx, (em) => getTask({ ...ctx, em, lean: undefined }, taskId.id));
        return {
          topic: `task:${task.id}`,
          agentId: task.agentId,
          first: { taskId: task.id, agentId: task.agentId, status: task.status, at: new Date() },
          snapshot,
          eventOf: (change) => taskEventOf(change),
        };
      }),
    resolve: eventOrFinalError<TaskEvent>,
  }),
  tenantStatus: t.field({
    description: "The caller's tenant's status now, then each change: a freeze or a deletion ends the subscription with its code.",
    type: TenantStatusEventRef,
    skipTypeScopes: true,
    authScopes: { can: 'tenant.read' },
    subscribe: (_root, _args, ctx) =>
      open<TenantStatusEvent>(ctx, async () => {
        const tenant = await inTokenTransaction(ctx, (em) => getOwnTenant({ ...ctx, em, lean: undefined }));
        return {
          topic: `tenant:${tenant.id}`,
          first: { status: tenant.status, at: new Date() },
          tenantEventOf: (status) => ({ status, at: new Date() }),
        };
      }),
    resolve: eventOrFinalError<TenantStatusEvent>,
  }),
}));

function taskEventOf(change: LiveChange): TaskEvent {
  return { taskId: change.id, agentId: change.agentId, status: change.status as TaskStatusName, at: new Date(change.at) };
}

/**
 * Opens the stream on this replica's live updates, for the request's principal (a tenant's: the scopes
 * above admit no other); `read` is the subscription's authorization, run once the stream's place is
 * taken and its tenant's changes are followed (LiveUpdates.open), and answers the topic.
 */
async function open<Event>(ctx: Context, read: () => Promise<LiveTopic<Event>>): Promise<AsyncIterableIterator<LiveMessage<Event>>> {
  const { principal } = ctx;
  if (!ctx.live || !('tenantId' in principal)) throw clientError('SERVICE_UNAVAILABLE', 'Live updates are not available here');
  const subscriber: LiveSubscriber = {
    principal,
    // A fresh fork each time, outside the subscription's request: the token checked in the database (the memory was just told to forget it).
    stillLive: () =>
      inTokenTransaction({ ...ctx, em: forkForRequest(ctx.region.orm, principal) }, async () => true).catch((error: unknown) => {
        if (isGraphQLError(error) && error.extensions.code === 'UNAUTHENTICATED') return false;
        throw error;
      }),
  };
  return ctx.live.open(subscriber, read);
}

/**
 * A subscription's read (its authorization and its first event), in one REPEATABLE READ transaction,
 * with that transaction's snapshot: the stream then skips the changes the read already saw
 * (LiveTopic.snapshot), whose notifications can arrive after it.
 */
async function readAtSnapshot<T>(ctx: Context, read: (em: Context['em']) => Promise<T>): Promise<{ value: T; snapshot: string }> {
  return inTokenTransaction(
    ctx,
    async (em) => {
      const value = await read(em);
      return { value, snapshot: await currentSnapshot(em) };
    },
    { isolationLevel: IsolationLevel.REPEATABLE_READ },
  );
}

/** Each message of the stream: its event, or the final error that ends it (an error event with `extensions.code`, then `complete`). */
function eventOrFinalError<Event>(message: LiveMessage<Event>): Event {
  if ('error' in message) throw message.error as GraphQLError;
  return message.event;
}
