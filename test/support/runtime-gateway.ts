import { createServer as createHttpServer } from 'node:http';
import { openKeyring } from '../../src/auth/keyring.ts';
import { startGateway } from '../../src/gateway.ts';
import { DockerRuntime } from '../../src/modules/provisioning/docker-runtime.ts';
import { createLogger } from '../../src/shared/logger.ts';

/**
 * A gateway that runs agents, in its own process, for kill tests: APP_URL, KEYRING_DIR, INSTANCE
 * (the containers' label), CHANNEL_ROOT and LEASE_SECONDS. Prints `port <n>` once listening.
 */
const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const log = createLogger({ level: 'silent' });
const gateway = await startGateway({
  appUrl: env('APP_URL'),
  keyring: await openKeyring(env('KEYRING_DIR')),
  log,
  userTokenTtl: '1h',
  poolSize: 4,
  canaryIntervalMs: 0,
  testing: { withoutCanary: true },
  policy: {
    mode: 'development',
    tenantRateLimitPerMinute: 100_000,
    apiKeyRateLimitPerMinute: 100_000,
    signUp: 'open',
    signUpPerIpPerHour: 100_000,
  },
  runtime: {
    engine: new DockerRuntime({ instance: env('INSTANCE'), log }),
    channelRoot: env('CHANNEL_ROOT'),
    reconcileIntervalMs: 0,
    leaseSeconds: Number(env('LEASE_SECONDS')),
    workers: 2,
    baseBackoffMs: 200,
    maxBackoffMs: 1_000,
  },
});
const http = createHttpServer(gateway.yoga);
http.listen(0, '127.0.0.1', () => {
  const address = http.address();
  process.stdout.write(`port ${typeof address === 'object' && address ? address.port : 0}\n`);
});
