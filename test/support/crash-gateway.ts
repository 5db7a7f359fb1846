import { createServer as createHttpServer } from 'node:http';
import { openKeyring } from '../../src/auth/keyring.ts';
import { startGateway } from '../../src/gateway.ts';
import { LocalKeyProvider } from '../../src/keys/local-key-provider.ts';
import { createLogger } from '../../src/shared/logger.ts';

/**
 * A gateway in its own process, for crash tests: serves APP_URL with the keyring in KEYRING_DIR and
 * prints `port <n>` once listening. The test kills it with SIGKILL mid-request. With BACKUP_DIR it
 * takes backups there, its KEK a local keyring in KEYRING_DIR.
 */
const log = createLogger({ level: 'silent' });
const backupDir = process.env.BACKUP_DIR;
const gateway = await startGateway({
  appUrl: process.env.APP_URL ?? '',
  keyring: await openKeyring(process.env.KEYRING_DIR ?? ''),
  log,
  ...(backupDir
    ? { backups: { dir: backupDir }, keyProvider: await LocalKeyProvider.open(process.env.KEYRING_DIR ?? '', log), keyRewrapIntervalMs: 0 }
    : {}),
  userTokenTtl: '1h',
  poolSize: 2,
  canaryIntervalMs: 0,
  testing: { withoutCanary: true },
  policy: {
    mode: 'development',
    tenantRateLimitPerMinute: 100_000,
    apiKeyRateLimitPerMinute: 100_000,
    signUp: 'open',
    signUpPerIpPerHour: 100_000,
  },
});
const http = createHttpServer(gateway.yoga);
http.listen(0, '127.0.0.1', () => {
  const address = http.address();
  process.stdout.write(`port ${typeof address === 'object' && address ? address.port : 0}\n`);
});
