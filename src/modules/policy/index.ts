/**
 * The policy module's face: the yoga plugins every request crosses, the access gate, rate limits,
 * document limits and the isolation canary.
 * Its GraphQL types register from its *.schema.ts files, which src/schema.ts alone
 * imports: importing this face never loads the Pothos builder.
 */
export { AccessGate, type AccessGrant } from './access-gate.ts';
export { type CanaryReason, type CanaryRun, replicaNameOf } from './canary-run.ts';
export { armor, checkTrustedDocument, DEFAULT_MAX_COST, DEFAULT_PAGE_SIZE } from './document-limits.ts';
export { type CanaryHistoryRetention, IsolationCanary } from './isolation-canary.ts';
export { RateLimits } from './rate-limits.ts';
export { type CostLimitOptions, useCostLimit } from './use-cost-limit.ts';
export { useInputSanitising } from './use-input-sanitising.ts';
export { useOperatorEndpoints } from './use-operator-endpoints.ts';
export { useRateLimit } from './use-rate-limit.ts';
export { useRequestBodyLimit } from './use-request-body-limit.ts';
export { useSchemaPrivacy } from './use-schema-privacy.ts';
export {
  DEFAULT_CLIENT_APP,
  type FoundDocument,
  sessionClientAppOf,
  type TrustedDocumentLookup,
  trustedDocumentOf,
  useTrustedDocuments,
} from './use-trusted-documents.ts';
