/**
 * The OIDC module's face: the connection entity and the issuer keys each replica holds.
 * Its GraphQL types register from its *.schema.ts files, which src/schema.ts alone
 * imports: importing this face never loads the Pothos builder.
 */
export { IssuerKeys } from './issuer-keys.ts';
export { OidcConnection } from './oidc-connection.entity.ts';
