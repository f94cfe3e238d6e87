import { createTensor } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { type AttributeValue, toAttribute } from './attribute-value';
import { OnnxGraphError } from './errors';

describe('toAttribute', () => {
  const tensor = createTensor('float32', [1], new Float32Array([2.5]));

  // Every input form and the ONNX attribute type it must resolve to.
  it.each<[string, AttributeValue, unknown]>([
    ['integer number', 3, { type: 'int', value: 3n }],
    ['negative integer', -1, { type: 'int', value: -1n }],
    ['whole float written 1.0 is still an integer', 1.0, { type: 'int', value: 1n }],
    ['non-integer number', 1e-5, { type: 'float', value: 1e-5 }],
    ['NaN', Number.NaN, { type: 'float', value: Number.NaN }],
    ['infinity', Number.NEGATIVE_INFINITY, { type: 'float', value: Number.NEGATIVE_INFINITY }],
    ['bigint', 2n ** 62n, { type: 'int', value: 2n ** 62n }],
    ['int64 maximum', 2n ** 63n - 1n, { type: 'int', value: 2n ** 63n - 1n }],
    ['string', 'tanh', { type: 'string', value: 'tanh' }],
    ['integer list', [0, 2, 1], { type: 'ints', value: [0n, 2n, 1n] }],
    ['mixed list', [1, 0.5], { type: 'floats', value: [1, 0.5] }],
    ['empty list', [], { type: 'ints', value: [] }],
    ['string list', ['a', 'b'], { type: 'strings', value: ['a', 'b'] }],
    ['tagged float', { type: 'float', value: 1 }, { type: 'float', value: 1 }],
    ['tagged floats', { type: 'floats', value: [1, 2] }, { type: 'floats', value: [1, 2] }],
    ['tagged int', { type: 'int', value: 7 }, { type: 'int', value: 7n }],
    ['tagged ints', { type: 'ints', value: [] }, { type: 'ints', value: [] }],
    ['tensor', tensor, { type: 'tensor', value: tensor }],
  ])('%s', (_, value, expected) => {
    expect(toAttribute('name', value, 'here')).toEqual({ name: 'name', ...(expected as object) });
  });

  it.each<[string, unknown, string]>([
    [
      'unsafe integer',
      2 ** 53,
      'here: 9007199254740992 is not a safe integer (pass a bigint for values beyond ±2^53)',
    ],
    ['bigint above int64', 2n ** 63n, 'here: 9223372036854775808 is outside the int64 range'],
    ['bigint below int64', -(2n ** 63n) - 1n, 'is outside the int64 range'],
    ['tagged int that is not an integer', { type: 'int', value: 1.5 }, 'here: 1.5 is not a safe integer'],
    ['tagged floats with a string', { type: 'floats', value: ['x'] }, 'here: expected a number, got string'],
    ['mixed strings and numbers', ['a', 1], 'a list attribute must hold only numbers or only strings'],
    ['unknown tag', { type: 'graph', value: 1 }, 'unknown attribute type "graph"'],
    ['null', null, 'attribute value is null'],
    ['boolean', true, 'unsupported attribute value of type boolean'],
    ['plain object', { foo: 1 }, 'here: unsupported attribute value'],
  ])('rejects %s', (_, value, message) => {
    expect(() => toAttribute('name', value as AttributeValue, 'here')).toThrow(OnnxGraphError);
    expect(() => toAttribute('name', value as AttributeValue, 'here')).toThrow(message);
  });
});
