import { expect, test } from 'vitest';

// Regression: npm 11 skipping node@24's install script silently runs everything on the machine's Node 20.
test('the suite runs on Node 24', () => {
  expect(process.version).toMatch(/^v24\./);
});
