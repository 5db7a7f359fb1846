import { createServer as createHttpServer } from 'node:http';
import { openKeyring } from './auth/keyring.ts';
import { TokenIssuer } from './auth/tokens.ts';
import { loadConfig } from './config.ts';
import { appUrlFor } from './db/database-urls.ts';
import { startEmbeddedPostgres } from './db/embedded.ts';
import { migrate, setAppRolePassword } from './db/migrate.ts';
import { openOrm } from './db/orm.ts';
import { runAuditRetention } from './modules/audit/retention.ts';
import { createServer } from './server.ts';
import { createLogger } from './shared/logger.ts';

/**
 * Start-up: configuration, keyring, database (embedded when DATABASE_URL is unset), migrations as
 * the owner, the ORM as the app role, then HTTP on loopback by default.
 */
async function main() {
  const config = loadConfig();
  const log = createLogger({ level: config.LOG_LEVEL });
  const keyring = await openKeyring(config.keyringDir);
  const embedded = config.DATABASE_URL
    ? undefined
    : await startEmbeddedPostgres({ dataDir: config.pgDataDir, port: config.EMBEDDED_PG_PORT, password: keyring.embeddedDbPassword, log });
  const adminUrl = config.DATABASE_URL ?? embedded?.adminUrl ?? '';
  await migrate(adminUrl, log);
  let appUrl = config.APP_DATABASE_URL;
  if (!appUrl) {
    await setAppRolePassword(adminUrl, keyring.embeddedDbPassword.reveal());
    appUrl = appUrlFor(adminUrl, keyring.embeddedDbPassword.reveal());
  }
  const orm = await openOrm(appUrl);
  const tokens = new TokenIssuer(keyring, config.USER_TOKEN_TTL);
  const yoga = createServer({ orm, tokens, auditKey: keyring.auditKey, log });
  const http = createHttpServer(yoga);
  await new Promise<void>((resolve) => http.listen(config.PORT, config.HOST, resolve));
  const url = `http://${config.HOST === '0.0.0.0' ? 'localhost' : config.HOST}:${config.PORT}/graphql`;
  log.info({ url, database: embedded ? 'embedded' : 'external' }, 'fleetgate listening');

  if (keyring.created) {
    // Printed to the terminal once, on the start that created the keyring; never logged.
    const operatorToken = await tokens.issue({ kind: 'operator', operatorId: 'operator' }, '30d');
    process.stdout.write(`\nFleetgate is up: ${url}\nOperator token (shown once, valid 30 days):\n  ${operatorToken.reveal()}\n\n`);
  } else {
    process.stdout.write(`\nFleetgate is up: ${url}\nNeed an operator token? npm run operator-token\n\n`);
  }

  // Audit retention: at start and every 6 hours; each tenant's old events go behind a signed checkpoint.
  const retention = { orm, auditKey: keyring.auditKey, log };
  const retentionTimer = setInterval(() => void runAuditRetention(retention), 6 * 60 * 60 * 1000);
  retentionTimer.unref();
  void runAuditRetention(retention);

  const shutdown = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    clearInterval(retentionTimer);
    http.close();
    await orm.close();
    await embedded?.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`fleetgate failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
