import { randomBytes } from 'node:crypto';
import type { UserRole } from '../gql/graphql.ts';
import { type Execute, expectNoErrors } from './gateway.ts';
import { AddMember, CreateAgent, CreateApiKey, SignUp } from './operations.ts';

const unique = () => randomBytes(4).toString('hex');

/**
 * Chained factories that go through the public API, like a real user would:
 * `const acme = await seed.tenant(); const agent = await acme.agent();`
 */
export function createSeed(execute: Execute) {
  return {
    async tenant(name = `tenant-${unique()}`) {
      const { signUp } = expectNoErrors(
        await execute(SignUp, { input: { tenantName: name, owner: { email: `owner-${unique()}@example.com`, name: 'Owner' } } }),
      );
      const ownerToken = signUp.token;
      const tenant = {
        id: signUp.tenant.id,
        name,
        ownerToken,
        ownerId: signUp.owner.id,
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
