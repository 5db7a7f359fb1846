import { readFileSync, writeFileSync } from 'node:fs';
import { printSchema } from 'graphql';
import { buildSchema } from '../schema.ts';

/**
 * `schema/schema.graphql` is generated from the code-first schema, never edited by hand.
 * With `--check`, fails when the checked-in file is stale (CI runs this).
 */
const TARGET = 'schema/schema.graphql';
const printed = `${printSchema(buildSchema())}\n`;

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(TARGET, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (current !== printed) {
    process.stderr.write(`${TARGET} is stale: run \`npm run schema\` and commit the result.\n`);
    process.exit(1);
  }
} else {
  writeFileSync(TARGET, printed);
}
