import { builder } from '../../builder.ts';
import { encodeGlobalId } from '../../shared/global-id.ts';
import { AgentRef } from '../agents/agent.schema.ts';
import { keysetConnection } from '../common/index.ts';
import { TASK_STATUSES, Task } from './task.entity.ts';
import { getTask, listTasks, loadTasks, runTask } from './task.service.ts';

export const TaskStatus = builder.enumType('TaskStatus', { values: TASK_STATUSES });

export const TaskRef = builder.node(Task, {
  name: 'Task',
  id: { resolve: (task) => task.id },
  authScopes: (task) => ({ $all: { can: 'agent.read', sameTenant: task.tenantId } }),
  loadMany: (ids, ctx) => loadTasks(ctx, ids),
  fields: (t) => ({
    agentId: t.id({ resolve: (task) => encodeGlobalId('Agent', task.agentId) }),
    input: t.exposeString('input'),
    status: t.field({ type: TaskStatus, resolve: (task) => task.status }),
    result: t.exposeString('result', { nullable: true, description: "The agent's answer, once it gave one." }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    deadline: t.expose('deadline', {
      type: 'DateTime',
      nullable: true,
      description: 'Not answered by then, the task is TIMED_OUT and a late answer is refused.',
    }),
  }),
});

builder.queryFields((t) => ({
  task: t.field({
    type: TaskRef,
    skipTypeScopes: true,
    authScopes: { can: 'agent.read' },
    args: { id: t.arg.globalID({ required: true, for: TaskRef }) },
    resolve: (_root, { id }, ctx) => getTask(ctx, id.id),
  }),
}));

const RunTaskPayload = builder.objectRef<{ task: Task }>('RunTaskPayload').implement({
  fields: (t) => ({ task: t.expose('task', { type: TaskRef }) }),
});

builder.mutationFields((t) => ({
  runTask: t.field({
    description: 'Queues work for an agent; poll `task(id)` or `agent.tasks` for its result.',
    type: RunTaskPayload,
    skipTypeScopes: true,
    authScopes: { can: 'agent.write' },
    args: {
      agentId: t.arg.globalID({ required: true, for: AgentRef }),
      input: t.arg.string({ required: true }),
      timeoutSeconds: t.arg.int({ description: "Seconds the agent has to answer, 1–86400; omitted: the gateway's default (600)." }),
    },
    resolve: async (_root, { agentId, input, timeoutSeconds }, ctx) => ({
      task: await runTask(ctx, agentId.id, { input, timeoutSeconds: timeoutSeconds ?? undefined }),
    }),
  }),
}));

builder.objectField(AgentRef, 'tasks', (t) =>
  t.connection({
    description: "The agent's tasks, oldest first.",
    type: TaskRef,
    resolve: (agent, args, ctx) => keysetConnection(args, (page) => listTasks(ctx, agent.id, page)),
  }),
);
