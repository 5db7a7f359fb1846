import { createServer as createHttpServer } from 'node:http';
import { openKeyring } from '../../src/auth/keyring.ts';
import { TokenIssuer } from '../../src/auth/tokens.ts';
import { openOrm } from '../../src/db/orm.ts';
import { createServer } from '../../src/server.ts';
import { createLogger } from '../../src/shared/logger.ts';

/**
 * A gateway in its own process, for crash tests: serves APP_URL with the keyring in KEYRING_DIR and
 * prints `port <n>` once listening. The test kills it with SIGKILL mid-request.
 */
const keyring = await openKeyring(process.env.KEYRING_DIR ?? '');
const orm = await openOrm(process.env.APP_URL ?? '', { poolSize: 2 });
const yoga = createServer({
  orm,
  tokens: new TokenIssuer(keyring, '1h'),
  auditKey: keyring.auditKey,
  log: createLogger({ level: 'silent' }),
});
const http = createHttpServer(yoga);
http.listen(0, '127.0.0.1', () => {
  const address = http.address();
  process.stdout.write(`port ${typeof address === 'object' && address ? address.port : 0}\n`);
});
