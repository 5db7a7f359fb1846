import { createHash } from 'node:crypto';

/**
 * The version a platform app's manifest is published as: `build-` and the first 12 hex digits of
 * the manifest's SHA-256, so a gateway whose operations changed publishes a new version and an
 * unchanged one publishes nothing. Pure, so the console's build (console/build.ts) names its own
 * version without loading the gateway.
 */
export function manifestVersion(documents: Record<string, string>): string {
  const digest = createHash('sha256')
    .update(JSON.stringify(Object.entries(documents).sort(([a], [b]) => a.localeCompare(b))))
    .digest('hex');
  return `build-${digest.slice(0, 12)}`;
}
