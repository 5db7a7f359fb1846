/**
 * The documents module's face: the trusted-document registry, the gateway's own app, its metrics plugin.
 * Its GraphQL types register from its *.schema.ts files, which src/schema.ts alone
 * imports: importing this face never loads the Pothos builder.
 */
export { DocumentRegistry } from './document-registry.ts';
export { GATEWAY_APP, gatewayManifest, platformManifest } from './gateway-app.ts';
