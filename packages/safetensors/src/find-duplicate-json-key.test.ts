import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findDuplicateJsonKey } from './find-duplicate-json-key';

describe('findDuplicateJsonKey', () => {
  it.each([
    ['{}', undefined],
    ['[]', undefined],
    ['"a"', undefined],
    ['{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}', undefined],
    ['{"a":1,"a":2}', { path: [], key: 'a' }],
    ['{"a":"b","b":"a"}', undefined],
    ['{"a":"a","a":"a"}', { path: [], key: 'a' }],
    ['{"t":{"dtype":"F32","shape":[1],"dtype":"U8"}}', { path: ['t'], key: 'dtype' }],
    ['{"x":[1,{"y":0},[{"k":1,"k":2}]]}', { path: ['x', 2, 0], key: 'k' }],
    // Escapes spell one key two ways; a quote or backslash inside a string is not structure.
    ['{"a":0,"\\u0061":1}', { path: [], key: 'a' }],
    ['{"a\\"":0,"a\\u0022":1}', { path: [], key: 'a"' }],
    ['{"\\\\":{"}":"{","]":"[\\""},"\\\\":2}', { path: [], key: '\\' }],
    ['{"a,":1,"a":2}', undefined],
    [' { "a" : 1 , "a" : 2 }     ', { path: [], key: 'a' }],
    ['{"__proto__":1,"__proto__":2}', { path: [], key: '__proto__' }],
    ['{"":1,"":2}', { path: [], key: '' }],
  ])('%s', (text, expected) => {
    JSON.parse(text);
    expect(findDuplicateJsonKey(text)).toEqual(expected);
  });

  it('handles nesting deeper than the call stack would', () => {
    const depth = 100_000;
    const text = `${'{"a":'.repeat(depth)}{"b":1,"b":2}${'}'.repeat(depth)}`;
    const found = findDuplicateJsonKey(text);
    expect(found?.key).toBe('b');
    expect(found?.path).toHaveLength(depth);
  });

  it('agrees with the keys of generated objects, spelled plainly or all escaped', () => {
    // Objects are member lists, so they may hold a key twice; serialized by hand, not by JSON.stringify.
    type Value = null | number | string | Value[] | { members: [string, Value][] };
    // A few keys that collide often and need escaping, plus any string, astral characters included.
    const keyArbitrary = fc.oneof(
      fc.constantFrom('a', 'b', '"', '\\', 'é', '\u2028', '{', '', '😀'),
      fc.string({ unit: 'binary' }),
    );
    const { value } = fc.letrec<{ value: Value }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constant(null),
        fc.integer(),
        fc.string(),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.record({ members: fc.array(fc.tuple(keyArbitrary, tie('value')), { maxLength: 4 }) }),
      ),
    }));
    const serialize = (item: Value, escapeKeys: boolean): string => {
      if (Array.isArray(item)) return `[${item.map((element) => serialize(element, escapeKeys)).join(',')}]`;
      if (item !== null && typeof item === 'object') {
        const members = item.members.map(([key, element]) => {
          // Spell keys with \u escapes sometimes, so equal keys differ as text.
          const spelled = escapeKeys
            ? `"${Array.from({ length: key.length }, (_, index) => `\\u${key.charCodeAt(index).toString(16).padStart(4, '0')}`).join('')}"`
            : JSON.stringify(key);
          return `${spelled}:${serialize(element, escapeKeys)}`;
        });
        return `{${members.join(',')}}`;
      }
      return JSON.stringify(item);
    };
    const hasDuplicate = (item: Value): boolean => {
      if (Array.isArray(item)) return item.some(hasDuplicate);
      if (item !== null && typeof item === 'object') {
        const keys = item.members.map(([key]) => key);
        return (
          new Set(keys).size !== keys.length || item.members.some(([, element]) => hasDuplicate(element))
        );
      }
      return false;
    };
    fc.assert(
      fc.property(value, fc.boolean(), (item, escapeKeys) => {
        const text = serialize(item, escapeKeys);
        JSON.parse(text);
        expect(findDuplicateJsonKey(text) !== undefined).toBe(hasDuplicate(item));
      }),
      { numRuns: 500 },
    );
  });
});
