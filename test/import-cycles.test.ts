import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { expect, test } from 'vitest';

/** Every TypeScript file under src/, by path relative to the repository. */
function sources(dir = 'src'): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/**
 * The files each file imports or re-exports from, type-only imports included (a cycle of types is a
 * cycle of the design), and side-effect imports (`import './x.schema.ts'`) too.
 */
function importGraph(files: string[]): Map<string, string[]> {
  const known = new Set(files);
  return new Map(
    files.map((file) => {
      const text = readFileSync(file, 'utf8');
      const targets = [...text.matchAll(/^(?:import|export)\s(?:[^;]*?from\s+)?'(\.{1,2}\/[^']+)'/gms)]
        .map((match) => normalize(join(dirname(file), match[1] as string)))
        .filter((target) => known.has(target));
      return [file, [...new Set(targets)]];
    }),
  );
}

/** Strongly connected components of more than one file (Tarjan), each sorted: the import cycles. */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const lowlinks = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (file: string) => {
    indices.set(file, index);
    lowlinks.set(file, index);
    index += 1;
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!indices.has(next)) {
        visit(next);
        lowlinks.set(file, Math.min(lowlinks.get(file) as number, lowlinks.get(next) as number));
      } else if (onStack.has(next)) {
        lowlinks.set(file, Math.min(lowlinks.get(file) as number, indices.get(next) as number));
      }
    }
    if (lowlinks.get(file) === indices.get(file)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop() as string;
        onStack.delete(member);
        component.push(member);
      } while (member !== file);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const file of graph.keys()) if (!indices.has(file)) visit(file);
  return found;
}

test('the import graph of src/ is real: files import one another', () => {
  const graph = importGraph(sources());
  expect([...graph.values()].reduce((sum, targets) => sum + targets.length, 0)).toBeGreaterThan(200);
});

test('src/ has no import cycle, type-only imports included', () => {
  expect(cycles(importGraph(sources()))).toEqual([]);
});

/** The files above the modules that wire them together: they see a module by its face alone. */
const TOP_LEVEL = ['src/gateway.ts', 'src/entities.ts', 'src/schema.ts', 'src/server.ts', 'src/main.ts'];

/** `src/modules/<m>/index.ts`, the face; src/schema.ts may also import a module's `*.schema.ts`, its schema registration. */
function reachesPastFace(importer: string, target: string): boolean {
  if (!/^src\/modules\/[^/]+\//.test(target) || /^src\/modules\/[^/]+\/index\.ts$/.test(target)) return false;
  return !(importer === 'src/schema.ts' && target.endsWith('.schema.ts'));
}

test('gateway, entities, schema, server and main import a module by its face only', () => {
  const graph = importGraph(sources());
  const deep = TOP_LEVEL.flatMap((file) =>
    (graph.get(file) ?? []).filter((target) => reachesPastFace(file, target)).map((t) => `${file} -> ${t}`),
  );
  expect(TOP_LEVEL.every((file) => graph.has(file))).toBe(true);
  expect(TOP_LEVEL.filter((file) => (graph.get(file) ?? []).some((t) => t.startsWith('src/modules/')))).toHaveLength(5);
  expect(deep).toEqual([]);
});

test('every module has a face, and importing a face never loads the Pothos builder', () => {
  const graph = importGraph(sources());
  const modules = readdirSync('src/modules', { withFileTypes: true }).filter((entry) => entry.isDirectory());
  const faces = modules.map((entry) => `src/modules/${entry.name}/index.ts`);
  expect(faces.filter((face) => !graph.has(face))).toEqual([]);
  const reached = (from: string) => {
    const seen = new Set([from]);
    for (const file of seen) for (const next of graph.get(file) ?? []) seen.add(next);
    return seen;
  };
  expect(reached('src/schema.ts').has('src/builder.ts')).toBe(true);
  expect(faces.filter((face) => reached(face).has('src/builder.ts'))).toEqual([]);
});

test('the lower floors (db/, shared/, keys/) import nothing from the modules', () => {
  const graph = importGraph(sources());
  const lower = [...graph.keys()].filter((file) => /^src\/(db|shared|keys)\//.test(file));
  expect(lower.length).toBeGreaterThan(20);
  const upward = lower.flatMap((file) =>
    (graph.get(file) ?? []).filter((target) => target.startsWith('src/modules/')).map((t) => `${file} -> ${t}`),
  );
  expect(upward).toEqual([]);
});
