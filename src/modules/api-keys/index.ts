/**
 * The API keys module's face: the entity authentication looks keys up in.
 * Its GraphQL types register from its *.schema.ts files, which src/schema.ts alone
 * imports: importing this face never loads the Pothos builder.
 */
export { ApiKey } from './api-key.entity.ts';
