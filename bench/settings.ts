/**
 * The benches' numeric settings from the environment, each checked before anything is measured: a
 * typo in BENCH_ROUNDS stops the run with the setting's name instead of measuring NaN rounds.
 */

/** `raw` as a positive number, an integer unless `integer` is false; throws naming the setting otherwise. */
export function positiveNumber(name: string, raw: string, integer = true): number {
  const value = Number(raw);
  if (!(value > 0) || (integer && !Number.isInteger(value))) {
    throw new Error(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${raw}`);
  }
  return value;
}

/** The environment variable `name` as positiveNumber reads it, `fallback` when it is unset. */
export function positiveSetting(name: string, fallback: number, integer = true): number {
  return positiveNumber(name, process.env[name] ?? String(fallback), integer);
}
