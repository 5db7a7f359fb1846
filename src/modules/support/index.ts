/**
 * The support module's face: the support grant entity authentication looks grants up in.
 * Its GraphQL types register from its *.schema.ts files, which src/schema.ts alone
 * imports: importing this face never loads the Pothos builder.
 */
export { SupportGrant } from './support-grant.entity.ts';
