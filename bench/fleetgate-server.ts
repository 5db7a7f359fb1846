/**
 * Child process: the real gateway, wired by `startGateway` exactly as src/main.ts does it (ORM as
 * the app role, tenant policy feed, access gate, policies, GraphQL server) on the bench database
 * and an ephemeral port. `--without-policies` drops the request policies (trusted documents,
 * limits, rate limits, CSRF) to show their share of the cost; `--without-session-check` skips the
 * users' token liveness check (bench/sessions.ts); `--without-metrics` runs it as METRICS_ENABLED=false
 * does (bench/metrics.ts); `--production` runs FLEETGATE_MODE=production (users run only trusted
 * documents: `npm run bench` publishes its operations first). With BENCH_REDIS_URL it shares rate limits
 * and fans live updates out through that Redis, as REDIS_URL does (bench/subscriptions.ts), and says it
 * is ready once its fan-out hears the relay. It logs at BENCH_LOG_LEVEL (default
 * `info`, the production default) into BENCH_LOG_FILE, as a deployed gateway's stdout goes to a
 * collector; without a file, at `warn` to stderr.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { openKeyring } from '../src/auth/keyring.ts';
import { startGateway } from '../src/gateway.ts';
import { LocalKeyProvider } from '../src/keys/index.ts';
import { createLogger } from '../src/shared/logger.ts';
import { childConfig, failChild, serveChild } from './child.ts';

/** Far above what one load generator sends a tenant, so nothing is throttled; the limiter still runs on every request. */
const UNTHROTTLED_PER_MINUTE = 1_000_000;

async function main() {
  const config = childConfig();
  // stdout carries the READY line, so log lines go to their file (or stderr, which the orchestrator shows).
  const logFile = process.env.BENCH_LOG_FILE;
  const log = logFile
    ? createLogger({ level: process.env.BENCH_LOG_LEVEL ?? 'info', destination: pino.destination({ dest: logFile, sync: true }) })
    : createLogger({ level: 'warn', destination: pino.destination(2) });
  // The canary creates tenants of its own; the bench's data set stays exactly as seeded. The session
  // check is read per request: `mode no-check` and `mode check` on stdin switch it between rounds.
  const testing = {
    withoutCanary: true,
    withoutPolicies: process.argv.includes('--without-policies'),
    withoutSessionCheck: process.argv.includes('--without-session-check'),
  };
  const redisUrl = process.env.BENCH_REDIS_URL;
  const redis = redisUrl ? new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1 }) : undefined;
  const gateway = await startGateway({
    appUrl: config.appUrl,
    keyring: await openKeyring(config.keyringDir),
    keyProvider: await LocalKeyProvider.open(config.keyringDir, log),
    log,
    userTokenTtl: '1h',
    poolSize: config.poolSize,
    policy: {
      mode: process.argv.includes('--production') ? 'production' : 'development',
      tenantRateLimitPerMinute: UNTHROTTLED_PER_MINUTE,
      apiKeyRateLimitPerMinute: UNTHROTTLED_PER_MINUTE,
      redis,
    },
    liveRedis: { instance: `bench-${randomUUID()}` },
    canaryIntervalMs: 0,
    testing,
    // Every request's token checked in the database, none remembered (TokenLiveness trusts no answer).
    ...(process.argv.includes('--always-check-session') ? { tokenLiveness: { maxAgeMs: 0 } } : {}),
    metricsEnabled: !process.argv.includes('--without-metrics'),
  });
  const { fanOut } = gateway.liveRedis;
  for (const deadline = Date.now() + 10_000; fanOut && !fanOut.listening && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (fanOut && !fanOut.listening) throw new Error('the live fan-out did not hear its relay within 10 s');
  await serveChild(
    gateway.yoga,
    async () => {
      await gateway.close();
      redis?.disconnect();
    },
    (line) => {
      if (line === 'mode no-check') testing.withoutSessionCheck = true;
      if (line === 'mode check') testing.withoutSessionCheck = false;
    },
  );
}

main().catch(failChild('fleetgate server'));
