import { openOrm } from '../../src/db/orm.ts';
import { forkForOperator } from '../../src/db/request-scope.ts';
import { ormModel } from '../../src/entities.ts';
import { upgradeTenantToEnterprise } from '../../src/modules/enterprise/upgrade.service.ts';
import { createLogger } from '../../src/shared/logger.ts';

/**
 * An upgrade in its own process, for crash tests: moves TENANT_ID as an operator over APP_URL, prints
 * `moved` once every row is copied, verified and deleted from the shared tables, and then hangs before
 * its commit. The test kills it there with SIGKILL.
 */
const orm = await openOrm(process.env.APP_URL ?? '', ormModel, { poolSize: 1 });
const log = createLogger({ level: 'silent' });
await forkForOperator(orm).transactional(async (em) => {
  const principal = { kind: 'operator', operatorId: 'crash-test' } as const;
  await upgradeTenantToEnterprise({ em, principal, log, requestId: 'crash' }, process.env.TENANT_ID ?? '');
  process.stdout.write('moved\n');
  await new Promise(() => undefined);
});
