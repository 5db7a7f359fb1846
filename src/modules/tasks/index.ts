/**
 * The tasks module's face: the task entity and what the agent channel and runtime call (delivery, timeouts).
 * Its GraphQL types register from its *.schema.ts files, which src/schema.ts alone
 * imports: importing this face never loads the Pothos builder.
 */
export { type TASK_STATUSES, Task } from './task.entity.ts';
export { getTask } from './task.service.ts';
export { agentConfig, answerTask, requeueUnanswered, takeNextTask } from './task-delivery.ts';
export { TaskTimeouts } from './task-timeouts.ts';
