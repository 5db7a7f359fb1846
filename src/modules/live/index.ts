/**
 * The live module's face: live updates over SSE and WebSocket (the per-replica hub and its yoga
 * plugin), and with Redis the relay of each region and this replica's end of the fan-out.
 * Its GraphQL types register from its *.schema.ts files, which src/schema.ts alone
 * imports: importing this face never loads the Pothos builder.
 */
export { LiveRelay } from './live-relay.ts';
export { type LiveLimits, LiveUpdates } from './live-updates.ts';
export { LiveRedisNames, RedisFanOut } from './redis-fan-out.ts';
export { useLiveUpdates } from './use-live-updates.ts';
