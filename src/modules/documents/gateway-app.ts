import { createHash } from 'node:crypto';
import manifest from '../../generated/operations/persisted-documents.json' with { type: 'json' };
import { DEFAULT_CLIENT_APP } from '../policy/index.ts';

/** The platform app of the gateway's own operations (schema/operations/), run by requests that name no app. */
export const GATEWAY_APP = DEFAULT_CLIENT_APP;

/** The gateway's own operations as the client preset wrote them (`npm run codegen`), published like every platform app (platformManifest). */
export function gatewayManifest(): { version: string; documents: Record<string, string> } {
  return platformManifest(manifest);
}

/**
 * A platform app's manifest and the version it is published as: `build-` and the first 12 hex
 * digits of the manifest's SHA-256, so a gateway whose operations changed publishes a new version
 * and an unchanged one publishes nothing.
 */
export function platformManifest(documents: Record<string, string>): { version: string; documents: Record<string, string> } {
  const digest = createHash('sha256')
    .update(JSON.stringify(Object.entries(documents).sort(([a], [b]) => a.localeCompare(b))))
    .digest('hex');
  return { version: `build-${digest.slice(0, 12)}`, documents };
}
