import { builder } from '../../builder.ts';
import { badInput } from '../../shared/errors.ts';
import { MAX_CONFIG_BYTES } from '../agents/index.ts';

builder.scalarType('DateTime', {
  description: 'An ISO 8601 timestamp in UTC.',
  serialize: (value) => value.toISOString(),
  parseValue: (value) => {
    const date = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
    if (Number.isNaN(date.getTime())) throw badInput('DateTime must be an ISO 8601 string');
    // Postgres stores 4713 BC to 294276 AD and JavaScript ±275760: years outside 1–9999 answered 500 (found by test/fuzz.test.ts).
    const year = date.getUTCFullYear();
    if (year < 1 || year > 9999) throw badInput('DateTime must be between the years 1 and 9999');
    return date;
  },
});

builder.scalarType('JSONObject', {
  description: `A JSON object of at most ${MAX_CONFIG_BYTES} bytes.`,
  serialize: (value) => value,
  parseValue: (value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badInput('JSONObject must be a JSON object');
    return value as Record<string, unknown>;
  },
});
