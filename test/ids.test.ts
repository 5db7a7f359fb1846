import { describe, expect, test } from 'vitest';
import { isCanonicalUuid, isUuid, newId, UUID_PATTERN } from '../src/shared/ids.ts';

describe('the one uuid check', () => {
  test('every id Fleetgate makes passes both checks: newId() (v7) and Postgres gen_random_uuid() (v4)', () => {
    for (let i = 0; i < 100; i++) {
      const id = newId();
      expect(isUuid(id)).toBe(true);
      expect(isCanonicalUuid(id)).toBe(true);
    }
    expect(isUuid('3f0c5d9e-8b1a-4c2d-9e7f-0a1b2c3d4e5f')).toBe(true);
  });

  test('ids made one after another increase (the v7 counter within a millisecond), and never repeat', () => {
    const ids = Array.from({ length: 20_000 }, () => newId());
    for (let i = 1; i < ids.length; i++) expect((ids[i] as string) > (ids[i - 1] as string), `${ids[i - 1]} then ${ids[i]}`).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => id[14] === '7' && '89ab'.includes(id[19] as string))).toBe(true);
    // A millisecond's first id seeds the counter with its top bit clear (room to count), as uuid does.
    const firsts = ids.filter((id, i) => i === 0 || id.slice(0, 13) !== (ids[i - 1] as string).slice(0, 13));
    expect(firsts.length).toBeGreaterThan(0);
    expect(firsts.every((id) => '01234567'.includes(id[15] as string))).toBe(true);
  });

  test('isUuid takes any case, as Postgres reads it; isCanonicalUuid only the lower-case form Fleetgate writes', () => {
    const upper = newId().toUpperCase();
    expect(isUuid(upper)).toBe(true);
    expect(isCanonicalUuid(upper)).toBe(false);
  });

  test('any other value is refused: wrong shape, extra text, control characters, not a string', () => {
    const id = newId();
    const refused: unknown[] = [
      '',
      'garbage',
      id.slice(1),
      `${id}0`,
      `${id}\n`,
      ` ${id}`,
      id.replaceAll('-', ''),
      `{${id}}`,
      id.replace(/^./, 'g'),
      id.replace('-', '\u0000'),
      42,
      null,
      undefined,
      { id },
    ];
    for (const value of refused) {
      expect(isUuid(value), String(value)).toBe(false);
      expect(isCanonicalUuid(value), String(value)).toBe(false);
    }
  });

  test('UUID_PATTERN is the same check, for ids inside longer names (backup archives)', () => {
    const archive = new RegExp(`^(${UUID_PATTERN})-(\\d{8}T\\d{9}Z)\\.fgbackup$`);
    const id = newId();
    expect(archive.exec(`${id}-20261204T101112345Z.fgbackup`)?.[1]).toBe(id);
    expect(archive.test(`${id.toUpperCase()}-20261204T101112345Z.fgbackup`)).toBe(false);
    expect(archive.test(`../${id}-20261204T101112345Z.fgbackup`)).toBe(false);
  });
});
