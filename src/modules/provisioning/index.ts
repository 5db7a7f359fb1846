/**
 * The provisioning module's face: the container runtime contract and its Docker implementation, the
 * agent runtime (jobs, channels, reconciler) and the provisioning calls other modules make.
 * Its GraphQL types register from its *.schema.ts files, which src/schema.ts alone
 * imports: importing this face never loads the Pothos builder.
 */
export type { ChannelExtensions } from './agent-channel.ts';
export { type AgentRuntime, type AgentRuntimeOptions, startAgentRuntime } from './agent-runtime.ts';
export { type ContainerRuntime, EngineUnavailableError, HARDENING, SANDBOX_LEVELS, type SandboxLevel } from './container-runtime.ts';
export { DEFAULT_CRASH_LOOP } from './crash-loop.ts';
export { DockerRuntime } from './docker-runtime.ts';
export { type AllowedImage, ImageAllowList } from './image-allow-list.ts';
export { enqueueJob, type JobKind } from './job-queue.ts';
export { convergeTenantAgents, loadAgent } from './provisioner.service.ts';
export type { AgentRuntimeAccess } from './runtime-access.ts';
