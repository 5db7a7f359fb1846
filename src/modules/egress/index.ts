/**
 * The egress module's face: the egress proxy's rules (the proxy that applies them is not built yet).
 * It has no GraphQL types and no entity yet.
 */
export {
  checkDestination,
  checkResolved,
  type EgressDecision,
  type EgressRefusal,
  type EgressRule,
  isPublicAddress,
  matchesRule,
  type PlaceholderBinding,
  parseEgressRule,
  placeholderOf,
  swapPlaceholders,
} from './egress-policy.ts';
