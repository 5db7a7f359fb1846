import type { z } from 'zod';
import { badInput } from './errors.ts';

/** Validates service input; the first problem becomes a BAD_USER_INPUT naming the field, never echoing the value. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.join('.') || undefined;
  throw badInput(`Invalid ${field ?? 'input'}: ${issue?.message ?? 'rejected'}`, field);
}
