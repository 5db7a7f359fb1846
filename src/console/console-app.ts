import manifest from '../../console/src/gql/persisted-documents.json' with { type: 'json' };
import { platformManifest } from '../modules/documents/index.ts';

/**
 * The console's platform app: its own, not part of `fleetgate`, so a session the console opens is
 * bound to it (sessionClientAppOf) and runs only the console's operations (console/operations/),
 * whatever script runs in the page; and the console is the example of a client app that frontend
 * teams copy (docs/console.md).
 */
export const CONSOLE_APP = 'console';

/** The console's operations as codegen wrote them, and the version they are published as. */
export function consoleManifest(): { version: string; documents: Record<string, string> } {
  return platformManifest(manifest);
}
