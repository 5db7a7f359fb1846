/**
 * Operations their transport has already counted against the rate limits and priced: graphql-ws
 * checks a subscription before starting it, so that a refusal is its `error` message
 * (src/request/graphql-ws.ts). useRateLimit and useCostLimit skip these instead of counting them
 * twice. Keyed by the operation's context object.
 */
const checked = new WeakSet<object>();

export function markCheckedBeforeExecution(context: object): void {
  checked.add(context);
}

export function wasCheckedBeforeExecution(context: object): boolean {
  return checked.has(context);
}
