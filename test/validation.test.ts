import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { parseInput } from '../src/shared/validation.ts';

/** The refusal parseInput throws for `input`: its message and the field it names. */
function refusal(schema: z.ZodType, input: unknown): { message: string; code: unknown; field: unknown } {
  try {
    parseInput(schema, input);
  } catch (error) {
    const { message, extensions } = error as { message: string; extensions?: Record<string, unknown> };
    if (!extensions) throw error;
    return { message, code: extensions.code, field: extensions.field };
  }
  throw new Error('parseInput accepted the input');
}

describe('service input is refused in the product’s words, naming the field and never the value', () => {
  const secretLooking = 'fgk_not-to-be-echoed';
  test.each([
    ['an empty string', z.object({ name: z.string().min(1) }), { name: '' }, 'Invalid name: must not be empty'],
    [
      'a string too long',
      z.object({ name: z.string().max(3) }),
      { name: secretLooking },
      'Invalid name: must be at most 3 characters long',
    ],
    ['a string too short', z.object({ name: z.string().min(5) }), { name: 'abc' }, 'Invalid name: must be at least 5 characters long'],
    [
      'a string of the wrong length',
      z.object({ code: z.string().length(6) }),
      { code: 'abc' },
      'Invalid code: must be exactly 6 characters long',
    ],
    ['a number too large', z.object({ n: z.number().max(10) }), { n: 11 }, 'Invalid n: must be at most 10'],
    ['a number not positive', z.object({ n: z.number().positive() }), { n: 0 }, 'Invalid n: must be more than 0'],
    ['an empty list', z.object({ ids: z.array(z.string()).min(1) }), { ids: [] }, 'Invalid ids: must not be empty'],
    ['a list too long', z.object({ ids: z.array(z.string()).max(2) }), { ids: ['a', 'b', 'c'] }, 'Invalid ids: must have at most 2 items'],
    ['a missing field', z.object({ name: z.string() }), {}, 'Invalid name: is required'],
    ['a wrong type', z.object({ n: z.number() }), { n: secretLooking }, 'Invalid n: must be a number'],
    ['an object expected', z.object({ config: z.object({}) }), { config: 'x' }, 'Invalid config: must be an object'],
    ['a malformed email', z.object({ email: z.email() }), { email: secretLooking }, 'Invalid email: must be an email address'],
    [
      'a nested field',
      z.object({ owner: z.object({ name: z.string().min(1) }) }),
      { owner: { name: '' } },
      'Invalid owner.name: must not be empty',
    ],
  ])('%s', (_case, schema, input, message) => {
    const refused = refusal(schema, input);
    expect(refused.message).toBe(message);
    expect(refused.code).toBe('BAD_USER_INPUT');
    expect(refused.message).not.toContain(secretLooking);
  });

  test('a schema’s own message wins over the product’s wording', () => {
    const schema = z.object({ days: z.number().min(1, 'must be between 1 and 3650 days') });
    expect(refusal(schema, { days: 0 })).toMatchObject({ message: 'Invalid days: must be between 1 and 3650 days', field: 'days' });
  });

  test('an issue without a product wording keeps zod’s', () => {
    const schema = z.object({ plan: z.enum(['FREE', 'PRO']) });
    expect(refusal(schema, { plan: 'GOLD' }).message).toBe('Invalid plan: Invalid option: expected one of "FREE"|"PRO"');
  });

  test('valid input comes back parsed', () => {
    expect(parseInput(z.object({ name: z.string().trim().min(1) }), { name: ' ann ' })).toEqual({ name: 'ann' });
  });
});
