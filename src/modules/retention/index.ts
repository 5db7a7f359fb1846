/**
 * The retention module's face: the task-history retention job.
 * Its GraphQL types register from its *.schema.ts files, which src/schema.ts alone
 * imports: importing this face never loads the Pothos builder.
 */
export { taskHistoryRetentionJob } from './task-history.ts';
