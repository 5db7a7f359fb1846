/**
 * The memory module's face: the entities, the agent channel's memory service, the data-key holders
 * rotation walks, the maintenance job and agent tokens.
 * Its GraphQL types register from its *.schema.ts files, which src/schema.ts alone
 * imports: importing this face never loads the Pothos builder.
 */
export { agentTokenStartSecret, revokeAgentTokens } from './agent-tokens.ts';
export { memoryEntities } from './memory.entity.ts';
export { MemoryChannel } from './memory-channel.ts';
export { MEMORY_KEY_TABLE, memoryEscrowHolder, memoryKeyHolder } from './memory-keys.ts';
export { memoryMaintenanceJob } from './memory-maintenance.ts';
export { SHARING_KEY_TABLE, sharingKeyHolder } from './sharing-keys.ts';
