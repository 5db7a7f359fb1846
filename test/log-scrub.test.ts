import { expect, test } from 'vitest';
import { Secret } from '../src/shared/secret.ts';
import { capturedLogger } from './support/captured-logger.ts';

test('scrubbing known secret values keeps every log line valid JSON, whatever the values hold (regression found by test/fuzz.test.ts)', () => {
  const huge = `huge-${'y'.repeat(70_000)}`; // longer than a regular expression may be
  const values = ['"; drop table agents; --', 'n-secret-value-1', 'back\\slash\\secret', 'line one\nline two', 'AAAAAAAAAAAAAAAA', huge];
  for (const value of values) new Secret(value);
  const { log, text } = capturedLogger();
  log.info({ note: 'quote: "; drop table agents; -- and again "; drop table agents; --' }, 'a');
  log.info({ note: '\nn-secret-value-1 after a newline escape, n-secret-value-1 alone' }, 'b');
  log.info({ note: 'back\\slash\\secret and line one\nline two' }, 'c');
  log.info({ note: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, 'd'); // two copies, back to back
  log.info({ note: `before ${huge} after` }, 'e');
  const lines = text().trim().split('\n');
  expect(lines).toHaveLength(5);
  for (const line of lines) {
    const parsed = JSON.parse(line) as { note: string };
    for (const value of values) expect(parsed.note).not.toContain(value);
  }
  expect((JSON.parse(lines[1] ?? '{}') as { note: string }).note).toBe('\n[redacted] after a newline escape, [redacted] alone');
  expect((JSON.parse(lines[3] ?? '{}') as { note: string }).note).toBe('[redacted][redacted]');
  expect((JSON.parse(lines[4] ?? '{}') as { note: string }).note).toBe('before [redacted] after');
});

test('an API key, a sign-in link or a refresh token pasted into a message is scrubbed even when no Secret holds it', () => {
  const { log, text } = capturedLogger();
  const pasted = ['fgk_', 'fgl_', 'fgr_'].map((prefix) => `${prefix}${'Zm9vYmFyYmF6'.repeat(4)}-_x`);
  for (const token of pasted) log.warn(`client sent ${token} in the wrong header`);
  const lines = text().trim().split('\n');
  expect(lines).toHaveLength(3);
  for (const [i, token] of pasted.entries()) {
    expect(lines[i]).not.toContain(token);
    expect((JSON.parse(lines[i] ?? '{}') as { msg: string }).msg).toBe('client sent [redacted] in the wrong header');
  }
});
