import type { ImageAllowList } from './image-allow-list.ts';

/** What requests need from the runtime: the allow-list to validate against and the default task timeout (the engine is the region's). */
export interface AgentRuntimeAccess {
  allowList: ImageAllowList;
  /** runTask's timeout when the caller gives none (default 600 s). */
  taskTimeoutSeconds?: number;
}
