/** `pg`'s own conversion of a parameter to its text form (dates, arrays, JSON, buffers), untyped by @types/pg. */
declare module 'pg/lib/utils.js' {
  export function prepareValue(value: unknown): string | Buffer | null;
}
