import type { z } from 'zod';
import { badInput } from './errors.ts';

/** Validates service input; the first problem becomes a BAD_USER_INPUT naming the field, never echoing the value. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input, { error: inProductVoice });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.join('.') || undefined;
  throw badInput(`Invalid ${field ?? 'input'}: ${issue?.message ?? 'rejected'}`, field);
}

const UNITS: Partial<Record<string, string>> = { string: 'characters', array: 'items', set: 'items' };
const FORMATS: Partial<Record<string, string>> = { email: 'an email address', url: 'a URL', uuid: 'a UUID' };

/**
 * zod's default wording ("Too small: expected string to have >=1 characters") said as the product
 * says it ("must not be empty"), for the issues services meet. A schema's own message wins: zod asks
 * the schema before this map, and this map before its locale, which answers what is left undefined.
 */
function inProductVoice(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'is required';
    return `must be ${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`;
  }
  if (issue.code === 'too_small' || issue.code === 'too_big') {
    if (issue.origin === 'date') return undefined;
    const small = issue.code === 'too_small';
    const bound = small ? issue.minimum : issue.maximum;
    const unit = UNITS[issue.origin];
    if (small && unit && Number(bound) === 1 && issue.inclusive !== false) return 'must not be empty';
    const relation = relationOf(issue);
    if (!unit) return `must be ${relation} ${bound}`;
    return issue.origin === 'string' ? `must be ${relation} ${bound} ${unit} long` : `must have ${relation} ${bound} ${unit}`;
  }
  if (issue.code === 'invalid_format' && FORMATS[issue.format]) return `must be ${FORMATS[issue.format]}`;
  return undefined;
}

type BoundIssue = Extract<z.core.$ZodRawIssue, { code: 'too_small' | 'too_big' }>;

function relationOf(issue: BoundIssue): string {
  if (issue.exact) return 'exactly';
  if (issue.code === 'too_small') return issue.inclusive === false ? 'more than' : 'at least';
  return issue.inclusive === false ? 'less than' : 'at most';
}
