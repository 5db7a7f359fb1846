/**
 * The sessions module's face: session entities, opening and revoking sessions, sign-in links.
 * Its GraphQL types register from its *.schema.ts files, which src/schema.ts alone
 * imports: importing this face never loads the Pothos builder.
 */
export { sessionEntities } from './session.entity.ts';
export { memberWithinReach, openSession, revokeSessionsOf, type SessionTokens, sessionPrincipal } from './session.service.ts';
export { createOwnerSignInLink, createSignInLink, type MintedSignInLink, mintSignInLink } from './sign-in-link.service.ts';
