import { request } from 'node:http';
import type { TokenIssuer } from '../src/auth/tokens.ts';
import { encodeGlobalId } from '../src/shared/global-id.ts';
import type { TenantFixture } from './seed.ts';

/** Issue 6's goal: a freeze through one replica is enforced by another within one second. */
export const MAX_FREEZE_PROPAGATION_MS = 1_000;

const FREEZE = 'mutation ($id: ID!) { freezeTenant(id: $id, reason: "bench") { status } }';
const UNFREEZE = 'mutation ($id: ID!) { unfreezeTenant(id: $id) { status } }';
const PROBE = '{ tenant { id } }';

/**
 * Freezes a tenant through replica A and polls replica B with that tenant's token until it is
 * refused; then unfreezes and waits until B serves it again. Returns each propagation time.
 */
export async function measureFreezePropagation(options: {
  portA: number;
  portB: number;
  tenant: TenantFixture;
  tokens: TokenIssuer;
  times: number;
}): Promise<number[]> {
  const operator = (await options.tokens.issue({ kind: 'operator', operatorId: 'bench' })).reveal();
  const id = encodeGlobalId('Tenant', options.tenant.tenantId);
  const samples: number[] = [];
  for (let i = 0; i < options.times; i++) {
    const started = performance.now();
    await post(options.portA, operator, FREEZE, { id });
    await until(async () => (await post(options.portB, options.tenant.token, PROBE)).includes('TENANT_FROZEN'));
    samples.push(performance.now() - started);
    await post(options.portA, operator, UNFREEZE, { id });
    await until(async () => !(await post(options.portB, options.tenant.token, PROBE)).includes('errors'));
  }
  return samples;
}

async function until(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const started = performance.now();
  while (!(await condition())) {
    if (performance.now() - started > timeoutMs) throw new Error(`freeze propagation: nothing changed within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function post(port: number, token: string, query: string, variables: Record<string, unknown> = {}): Promise<string> {
  const body = JSON.stringify({ query, variables });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/graphql',
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk) => {
          text += String(chunk);
        });
        res.on('end', () => resolve(text));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
