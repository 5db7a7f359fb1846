import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { parseRows, StoreRowError, timestamp } from '../src/db/rows.ts';

/**
 * Every module (issue 23): its raw SQL lives in its one store, `<name>.store.ts`; a module without
 * raw SQL (api-keys, common, egress, graphiql, support) has none.
 */
const MODULES = readdirSync('src/modules', { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

describe('a store parses its rows at the boundary', () => {
  const row = z.object({ id: z.string(), wrapped_key: z.string(), created_at: timestamp });

  test('rows that fit come back parsed, timestamps as dates whether pg sent a Date or text', () => {
    const rows = parseRows(
      row,
      [
        { id: 'a', wrapped_key: 'k', created_at: new Date('2026-12-04T10:00:00Z') },
        { id: 'b', wrapped_key: 'k', created_at: '2026-12-04T11:00:00Z' },
      ],
      'select rows',
    );
    expect(rows.map((each) => [each.id, each.created_at.toISOString()])).toEqual([
      ['a', '2026-12-04T10:00:00.000Z'],
      ['b', '2026-12-04T11:00:00.000Z'],
    ]);
  });

  test('a row that does not fit is our bug: a StoreRowError naming the statement and column, never the value', () => {
    const canary = 'vault:v1:CANARY-SECRET-4f1e';
    const failing = () => parseRows(row, [{ id: 'a', wrapped_key: 42, created_at: canary }], 'select wrapped_key');
    expect(failing).toThrow(StoreRowError);
    expect(failing).toThrow('select wrapped_key: row 0 wrapped_key invalid_type');
    try {
      failing();
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('CANARY');
      expect(String((error as Error).message)).not.toContain('42');
    }
  });

  test('anything but a list of rows is refused', () => {
    expect(() => parseRows(row, undefined, 'select nothing')).toThrow('select nothing: no rows');
  });
});

describe('the stores own their modules’ raw SQL', () => {
  const files = (module: string) => readdirSync(`src/modules/${module}`).filter((name) => name.endsWith('.ts'));

  test('the list of modules is read from the tree', () => {
    expect(MODULES).toEqual(expect.arrayContaining(['agents', 'audit', 'credentials', 'documents', 'policy', 'provisioning', 'tenants']));
  });

  test.each(MODULES)('%s: only its store runs raw SQL', (module) => {
    const stores = files(module).filter((name) => name.endsWith('.store.ts'));
    expect(stores.length).toBeLessThanOrEqual(1);
    const raw = files(module)
      .filter((name) => !name.endsWith('.store.ts'))
      .filter((name) => /\.execute\s*[<(]/.test(readFileSync(`src/modules/${module}/${name}`, 'utf8')));
    expect(raw).toEqual([]);
  });

  test('row shapes are built once, beside the SQL, never per call (zod compiles each new shape: ~0.1 ms)', () => {
    const inline = MODULES.flatMap((module) =>
      files(module)
        .filter((name) => name.endsWith('.store.ts'))
        .filter((name) => /(selectRows?|parseRows)\(\s*[\w.()]+,\s*z\./.test(readFileSync(`src/modules/${module}/${name}`, 'utf8'))),
    );
    expect(inline).toEqual([]);
  });
});
