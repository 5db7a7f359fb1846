/**
 * The credentials module's face: the entity, the key holder rotation walks, and what an agent's
 * start reads (the start-secret source and payload encoding).
 * Its GraphQL types register from its *.schema.ts files, which src/schema.ts alone
 * imports: importing this face never loads the Pothos builder.
 */
export { AgentCredential } from './credential.entity.ts';
export { type CredentialKeys, CredentialUnreadableError } from './credential.service.ts';
export { credentialStartSecrets } from './credential-delivery.ts';
export { CREDENTIAL_KEY_TABLE, credentialKeyHolder } from './credential-keys.ts';
export { encodeStartPayload, type StartSecret, type StartSecretSource } from './start-secrets.ts';
