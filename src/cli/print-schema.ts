import { writeFileSync } from 'node:fs';
import { printSchema } from 'graphql';
import { buildSchema } from '../schema.ts';

/** Writes schema/schema.graphql (or the path given) from the code-first schema. */
const target = process.argv[2] ?? 'schema/schema.graphql';
writeFileSync(target, `${printSchema(buildSchema())}\n`);
