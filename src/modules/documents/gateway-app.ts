import manifest from '../../generated/operations/persisted-documents.json' with { type: 'json' };
import { manifestVersion } from '../../shared/manifest-version.ts';
import { DEFAULT_CLIENT_APP } from '../policy/index.ts';

/** The platform app of the gateway's own operations (schema/operations/), run by requests that name no app. */
export const GATEWAY_APP = DEFAULT_CLIENT_APP;

/** The gateway's own operations as the client preset wrote them (`npm run codegen`), published like every platform app (platformManifest). */
export function gatewayManifest(): { version: string; documents: Record<string, string> } {
  return platformManifest(manifest);
}

/** A platform app's manifest and the version it is published as (manifestVersion). */
export function platformManifest(documents: Record<string, string>): { version: string; documents: Record<string, string> } {
  return { version: manifestVersion(documents), documents };
}
