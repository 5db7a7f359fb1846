import type { EntityManager } from '@mikro-orm/postgresql';
import type { Principal } from '../auth/principal.ts';
import type { TokenLiveness } from '../auth/token-liveness.ts';
import type { LeanTransaction } from '../db/lean-transaction.ts';
import type { Logger } from '../shared/logger.ts';

/**
 * What a service needs from a request: who is calling, the transaction's EntityManager, correlation.
 * The request's context (src/request/context.ts) is one; so is a job's or a test's scope. Services depend on
 * this rather than on the whole context, so the request layer can know the modules without a cycle
 * (test/import-cycles.test.ts).
 */
export interface RequestScope {
  principal: Principal;
  /**
   * The request's EntityManager. Before execution it is a fork bound to the principal's tenant
   * (filter params and RLS session variables; for an agent, filter params only: its transaction's
   * first statement sets the settings and checks its token, see forkForRequest); during execution
   * the request-transaction plugin replaces it with the transaction's EntityManager, so every
   * resolver shares one transaction.
   */
  em: EntityManager;
  /**
   * Set during execution when the operation is one the lean path serves in full
   * (src/db/lean-transaction.ts `leanOperationOf`): its statements then go through it, one round trip
   * each with the settings and the token's liveness check, and no ORM transaction is opened.
   */
  lean?: LeanTransaction;
  log: Logger;
  requestId: string;
}

/** A service that ends or changes a user's tokens tells this replica's memory of them (TokenLiveness.changing). */
export interface LivenessScope extends RequestScope {
  tokenLiveness: TokenLiveness;
}
