import { randomBytes } from 'node:crypto';
import type { UserRole } from '../gql/graphql.ts';
import { type Execute, expectNoErrors } from './gateway.ts';
import { AddMember, CreateAgent, CreateApiKey, CreateEnterpriseTenant, Me, SignUp } from './operations.ts';

const unique = () => randomBytes(4).toString('hex');

/**
 * Chained factories that go through the public API, like a real user would:
 * `const acme = await seed.tenant(); const agent = await acme.agent();`
 */
export function createSeed(execute: Execute) {
  return {
    /** A STANDARD tenant by self-service sign-up, or, given an operator token, an ENTERPRISE tenant with its own schema. */
    async tenant(name = `tenant-${unique()}`, options: { enterpriseBy?: string; region?: string } = {}) {
      const input = { tenantName: name, owner: { email: `owner-${unique()}@example.com`, name: 'Owner' }, region: options.region };
      const created = options.enterpriseBy
        ? await (async () => {
            const { createEnterpriseTenant } = expectNoErrors(
              await execute(CreateEnterpriseTenant, { input }, { token: options.enterpriseBy }),
            );
            const { me } = expectNoErrors(await execute(Me, {}, { token: createEnterpriseTenant.ownerToken }));
            return { id: createEnterpriseTenant.tenant.id, token: createEnterpriseTenant.ownerToken, ownerId: me.id };
          })()
        : await (async () => {
            const { signUp } = expectNoErrors(await execute(SignUp, { input }));
            return { id: signUp.tenant.id, token: signUp.token, ownerId: signUp.owner.id };
          })();
      const ownerToken = created.token;
      const tenant = {
        id: created.id,
        name,
        ownerToken,
        ownerId: created.ownerId,
        async agent(agentName = `agent-${unique()}`, config: Record<string, unknown> = {}) {
          const { createAgent } = expectNoErrors(
            await execute(CreateAgent, { input: { name: agentName, image: 'fleetgate/agent:1', config } }, { token: ownerToken }),
          );
          return createAgent.agent;
        },
        async member(role: UserRole) {
          const { addMember } = expectNoErrors(
            await execute(
              AddMember,
              { input: { email: `${role.toLowerCase()}-${unique()}@example.com`, name: role, role } },
              { token: ownerToken },
            ),
          );
          return { id: addMember.member.id, token: addMember.token };
        },
        async apiKey(scopes: ('AGENTS_READ' | 'AGENTS_WRITE')[] = ['AGENTS_READ']) {
          const { createApiKey } = expectNoErrors(
            await execute(CreateApiKey, { input: { name: `key-${unique()}`, scopes } }, { token: ownerToken }),
          );
          return { id: createApiKey.apiKey.id, key: createApiKey.key };
        },
      };
      return tenant;
    },
  };
}
