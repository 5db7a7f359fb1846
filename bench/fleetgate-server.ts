/**
 * Child process: the real gateway, wired by `startGateway` exactly as src/main.ts does it (ORM as
 * the app role, tenant policy feed, access gate, policies, GraphQL server) on the bench database
 * and an ephemeral port. `--without-policies` drops the request policies (trusted documents,
 * limits, rate limits, CSRF) to show their share of the cost; `--without-session-check` skips the
 * users' token liveness check (bench/sessions.ts); `--without-metrics` runs it as METRICS_ENABLED=false
 * does (bench/metrics.ts).
 */
import pino from 'pino';
import { openKeyring } from '../src/auth/keyring.ts';
import { loadConfig } from '../src/config.ts';
import { startGateway } from '../src/gateway.ts';
import { LocalKeyProvider } from '../src/keys/index.ts';
import { createLogger } from '../src/shared/logger.ts';
import { childConfig, failChild, serveChild } from './child.ts';

/** Far above what one load generator sends a tenant, so nothing is throttled; the limiter still runs on every request. */
const UNTHROTTLED_PER_MINUTE = 1_000_000;

async function main() {
  const config = childConfig();
  // The gateway's defaults, not this environment: `development` mode lets users send the bench's
  // ad-hoc query (production mode admits only the trusted-documents manifest).
  const defaults = loadConfig({});
  // stdout carries the READY line; warnings and errors go to stderr, which the orchestrator shows.
  const log = createLogger({ level: 'warn', destination: pino.destination(2) });
  // The canary creates tenants of its own; the bench's data set stays exactly as seeded. The session
  // check is read per request: `mode no-check` and `mode check` on stdin switch it between rounds.
  const testing = {
    withoutCanary: true,
    withoutPolicies: process.argv.includes('--without-policies'),
    withoutSessionCheck: process.argv.includes('--without-session-check'),
  };
  const gateway = await startGateway({
    appUrl: config.appUrl,
    keyring: await openKeyring(config.keyringDir),
    keyProvider: await LocalKeyProvider.open(config.keyringDir, log),
    log,
    userTokenTtl: '1h',
    poolSize: config.poolSize,
    policy: {
      mode: defaults.FLEETGATE_MODE,
      tenantRateLimitPerMinute: UNTHROTTLED_PER_MINUTE,
      apiKeyRateLimitPerMinute: UNTHROTTLED_PER_MINUTE,
    },
    canaryIntervalMs: 0,
    testing,
    // Every request's token checked in the database, none remembered (TokenLiveness trusts no answer).
    ...(process.argv.includes('--always-check-session') ? { tokenLiveness: { maxAgeMs: 0 } } : {}),
    metricsEnabled: !process.argv.includes('--without-metrics'),
  });
  await serveChild(
    gateway.yoga,
    () => gateway.close(),
    (line) => {
      if (line === 'mode no-check') testing.withoutSessionCheck = true;
      if (line === 'mode check') testing.withoutSessionCheck = false;
    },
  );
}

main().catch(failChild('fleetgate server'));
