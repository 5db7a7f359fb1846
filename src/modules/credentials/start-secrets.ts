import type { EntityManager } from '@mikro-orm/postgresql';
import type { Secret } from '../../shared/secret.ts';
import type { EgressRule } from '../egress/index.ts';

/**
 * A secret delivered into an agent's process as an environment variable when its container starts,
 * never into the container's stored configuration (see AgentChannels.deliverStart and docker/agent/bootstrap.sh).
 */
export interface StartSecret {
  /** The environment variable; `FLEETGATE_*` names are reserved for the platform's own. */
  name: string;
  value: Secret;
  /**
   * Secret swap: the process gets `placeholder` instead of the value, and the value goes only to the
   * egress proxy, which puts it into request headers for these hosts (see Provisioner, EgressProxy).
   */
  swap?: { placeholder: string; hosts: readonly EgressRule[] };
}

/**
 * The hook for "secrets delivered at start": the provisioner asks every source before each start,
 * inside the agent's tenant (`em` carries its RLS setting and filter), and delivers their union in
 * one payload. Agent credentials are one source; a per-start agent token can be another. A source
 * that throws (key provider down) stops the start: the job retries, nothing starts without its secrets.
 */
export type StartSecretSource = (em: EntityManager, agent: { tenantId: string; agentId: string }) => Promise<StartSecret[]>;

const NAME = /^[A-Z][A-Z0-9_]{0,63}$/;

/**
 * The answer to the entrypoint's `START` on its channel (AgentChannels.deliverStart): one
 * `NAME=<base64 value>` line per secret, then `END`. Base64 keeps any value on one line; bootstrap.sh
 * decodes each into the environment and execs the agent. Zero the buffer once written.
 */
export function encodeStartPayload(secrets: readonly StartSecret[]): Buffer {
  const seen = new Set<string>();
  for (const { name } of secrets) {
    if (!NAME.test(name)) throw new Error('a start secret has an invalid name');
    if (seen.has(name)) throw new Error(`two start secrets are named ${name}`);
    seen.add(name);
  }
  return Buffer.from(
    `${secrets.map(({ name, value }) => `${name}=${Buffer.from(value.reveal(), 'utf8').toString('base64')}\n`).join('')}END\n`,
    'utf8',
  );
}
