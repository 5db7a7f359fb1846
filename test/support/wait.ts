/**
 * Polls `probe` until it answers truthy, or fails after `timeoutMs` with `what` in the message:
 * chaos tests wait for states, never for a time that assumes the machine's speed.
 */
export async function waitUntil<T>(probe: () => T | Promise<T>, timeoutMs = 20_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Polls `check` every 10 ms until it holds and answers how many milliseconds that took (a
 * propagation delay, measured); fails past `withinMs`.
 */
export async function millisUntil(check: () => Promise<boolean>, withinMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check()) return performance.now() - started;
    if (performance.now() - started > withinMs) throw new Error(`condition not met within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
