/**
 * The GraphiQL module's face: the explorer's page and its bundled assets.
 * Its GraphQL types register from its *.schema.ts files, which src/schema.ts alone
 * imports: importing this face never loads the Pothos builder.
 */
export { GRAPHIQL_OPTIONS, renderBundledGraphiQL, useGraphiQLAssets } from './bundled-graphiql.ts';
