/**
 * The live module's face: live updates over SSE (the per-replica hub and its yoga plugin).
 * Its GraphQL types register from its *.schema.ts files, which src/schema.ts alone
 * imports: importing this face never loads the Pothos builder.
 */
export { type LiveLimits, LiveUpdates } from './live-updates.ts';
export { useLiveUpdates } from './use-live-updates.ts';
