/**
 * The agents module's face: the agent entity and the services other modules call (create, load).
 * Its GraphQL types register from its *.schema.ts files, which src/schema.ts alone
 * imports: importing this face never loads the Pothos builder.
 */
export { Agent, type AgentStatus } from './agent.entity.ts';
export { type AgentScope, createAgent, getAgent, MAX_CONFIG_BYTES } from './agent.service.ts';
