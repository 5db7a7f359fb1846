import { graphql } from '../gql/index.ts';

/** Documents of the credentials tests (issue 4). */
export const SetCredential = graphql(`
  mutation SetCredential($agentId: ID!, $name: String!, $value: CredentialValue!) {
    setCredential(agentId: $agentId, name: $name, value: $value) {
      credential { name version fingerprint createdAt rotatedAt }
      agent { id status }
    }
  }
`);

export const RotateCredential = graphql(`
  mutation RotateCredential($agentId: ID!, $name: String!, $value: CredentialValue!) {
    rotateCredential(agentId: $agentId, name: $name, value: $value) {
      credential { name version fingerprint createdAt rotatedAt }
      agent { id status }
    }
  }
`);

export const DeleteCredential = graphql(`
  mutation DeleteCredential($agentId: ID!, $name: String!) {
    deleteCredential(agentId: $agentId, name: $name) { deletedName agent { id } }
  }
`);

export const AgentCredentials = graphql(`
  query AgentCredentials($id: ID!) {
    agent(id: $id) { id credentials { name version fingerprint createdAt rotatedAt } }
  }
`);

export const RotateCredentialKey = graphql(`
  mutation RotateCredentialKey { rotateCredentialKey }
`);

export const TenantKeyStatus = graphql(`
  query TenantKeyStatus { tenantKeyStatus { provider latestVersion minDecryptionVersion } }
`);

export const CredentialKeyStatus = graphql(`
  query CredentialKeyStatus { credentialKeyStatus { provider latestVersion minDecryptionVersion pendingRewrap } }
`);
