import type { Plugin } from 'graphql-yoga';
import type { RequestContext } from '../../context.ts';
import type { LiveUpdates } from './live-updates.ts';

/**
 * Hands this replica's live updates to every request's context (`ctx.live`), where the
 * subscription fields of live.schema.ts open their streams. Without it (a server built without
 * live updates) subscriptions answer SERVICE_UNAVAILABLE.
 */
export function useLiveUpdates(live: LiveUpdates | undefined): Plugin<RequestContext> {
  return {
    onContextBuilding({ extendContext }) {
      if (live) extendContext({ live });
    },
  };
}
