/** A value now, or a promise of it: what a cache answers on a hit without allocating a promise per request. */
export type MaybePromise<T> = T | Promise<T>;

/** `then` for a MaybePromise: `next` runs at once on a value, once settled on a promise. */
export function whenSettled<T, R>(value: MaybePromise<T>, next: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return value instanceof Promise ? value.then(next) : next(value);
}
