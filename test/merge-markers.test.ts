import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';

/**
 * A merge's conflict markers left in a comment still compile and pass every linter (one sat in
 * src/db/lean-read.ts's JSDoc for a session). Every tracked text file is read for them.
 */
test('no tracked file holds a merge conflict marker', () => {
  const files = execFileSync('git', ['ls-files', '-z'], { encoding: 'utf8' })
    .split('\0')
    .filter((file) => /\.(ts|tsx|js|mjs|sql|md|json|yml|yaml|graphql|sh)$/.test(file) && !file.includes('/dist/'));
  expect(files.length).toBeGreaterThan(100);
  const marked = files.filter((file) => /^(?:\s*\*\s*)?(?:<{7}|>{7}) \S/m.test(readFileSync(file, 'utf8')));
  expect(marked).toEqual([]);
});
