import { type KeyProvider, KeyProviderUnavailableError } from '../src/keys/index.ts';
import { mintAgentToken } from '../src/modules/memory/agent-tokens.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import type { Gateway } from './support/gateway.ts';

type Tenant = Awaited<ReturnType<Gateway['seed']['tenant']>>;

/** An agent of `tenant` with the token the runtime would deliver at its container's start. */
export async function agentWithToken(gw: Gateway, tenant: Tenant, name?: string) {
  const agent = await tenant.agent(name);
  const id = decodeGlobalId(agent.id).id;
  const tenantId = decodeGlobalId(tenant.id).id;
  const token = await mintAgentToken({ orm: gw.orm, tokens: gw.tokens }, { id, tenantId });
  if (!token) throw new Error('agent vanished');
  return { globalId: agent.id, id, tenantId, token: token.reveal() };
}

/** A provider that can be switched off, as when Vault is sealed or the keyring file is gone. */
export class SwitchableProvider implements KeyProvider {
  readonly kind = 'local';
  down = false;
  constructor(private readonly inner: KeyProvider) {}
  #use<T>(call: () => Promise<T>): Promise<T> {
    if (this.down) return Promise.reject(new KeyProviderUnavailableError('local', 'switched off by the test'));
    return call();
  }
  generateDataKey = () => this.#use(() => this.inner.generateDataKey());
  unwrapDataKey = (wrapped: string) => this.#use(() => this.inner.unwrapDataKey(wrapped));
  rewrapDataKey = (wrapped: string) => this.#use(() => this.inner.rewrapDataKey(wrapped));
  versionOf = (wrapped: string) => this.inner.versionOf(wrapped);
  rotate = () => this.#use(() => this.inner.rotate());
  retireBelow = (version: number) => this.#use(() => this.inner.retireBelow(version));
  status = () => this.#use(() => this.inner.status());
}

/** Text as the agent channel's line protocol carries it (MEMPUT, MEMGET arguments and VALUE answers). */
export const b64 = (text: string) => Buffer.from(text).toString('base64');
