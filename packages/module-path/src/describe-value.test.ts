import { describe, expect, it } from 'vitest';
import {
  constructorNameOf,
  describeContainer,
  describeLeaf,
  describeLocation,
  describeValue,
  isTensorLike,
} from './describe-value';
import { Module } from './module';

class Conv1D extends Module {}
class InferenceSession {}

describe('describeValue', () => {
  it.each<[string, unknown, string]>([
    ['null', null, 'null'],
    ['undefined', undefined, 'undefined'],
    ['a string', 'gelu_new', 'the string "gelu_new"'],
    ['a long string', 'x'.repeat(50), `the string "${'x'.repeat(40)}…"`],
    ['a number', 1e-5, 'the number 0.00001'],
    ['NaN', Number.NaN, 'the number NaN'],
    ['a boolean', false, 'the boolean false'],
    ['a bigint', 7n, 'the bigint 7n'],
    ['a symbol', Symbol('key'), 'the symbol Symbol(key)'],
    ['a named function', function forward() {}, 'the function forward'],
    ['a module', new Conv1D(), 'a Conv1D module'],
    ['a list', [1, 2], 'a list of 2 items'],
    ['a one-item list', [1], 'a list of 1 item'],
    ['a Map', new Map([['a', 1]]), 'a Map of 1 entry'],
    ['an empty Map', new Map(), 'a Map of 0 entries'],
    [
      'a float32 tensor',
      { dtype: 'float32', shape: [768, 2304], data: new Float32Array(0) },
      'a float32 tensor of shape [768, 2304]',
    ],
    ['an int8 tensor', { dtype: 'int8', shape: [], data: new Int8Array(1) }, 'an int8 tensor of shape []'],
    [
      'a uint8 tensor',
      { dtype: 'uint8', shape: [2], data: new Uint8Array(2) },
      'a uint8 tensor of shape [2]',
    ],
    ['a typed array', new Float32Array(3), 'a Float32Array of length 3'],
    ['an Int8Array', new Int8Array(1), 'an Int8Array of length 1'],
    ['a DataView', new DataView(new ArrayBuffer(4)), 'a DataView of 4 bytes'],
    ['an ArrayBuffer', new ArrayBuffer(1), 'an ArrayBuffer of 1 byte'],
    ['a plain object', { a: 1 }, 'an object'],
    ['a null-prototype object', Object.create(null), 'an object'],
    ['a class instance', new InferenceSession(), 'an InferenceSession'],
  ])('describes %s', (_label, value, expected) => {
    expect(describeValue(value)).toBe(expected);
  });
});

describe('describeLeaf', () => {
  it('describes values a path cannot go through', () => {
    expect(describeLeaf(null)).toBe('null');
    expect(describeLeaf(3)).toBe('the number 3');
    expect(describeLeaf(new Uint16Array(2))).toBe('a Uint16Array of length 2');
    expect(describeLeaf({ dtype: 'float16', shape: [2], data: new Uint16Array(2) })).toBe(
      'a float16 tensor of shape [2]',
    );
    expect(describeLeaf(() => 1)).toBe('a function');
  });

  it('lets paths go on through modules, lists, Maps and other objects', () => {
    for (const value of [new Conv1D(), [], new Map(), {}, new InferenceSession(), Object.create(null)]) {
      expect(describeLeaf(value)).toBeUndefined();
    }
  });

  it('never treats a module as a tensor, even one with dtype, shape and data', () => {
    class TensorModule extends Module {
      dtype = 'float32';
      shape = [1];
      data = new Float32Array(1);
    }
    expect(isTensorLike(new TensorModule())).toBe(true);
    expect(describeLeaf(new TensorModule())).toBeUndefined();
  });
});

describe('isTensorLike', () => {
  it('needs a string dtype, an array shape and a data field', () => {
    expect(isTensorLike({ dtype: 'float32', shape: [1], data: new Float32Array(1) })).toBe(true);
    expect(isTensorLike({ dtype: 'float32', shape: [1], data: undefined })).toBe(true);
    expect(isTensorLike({ dtype: 'float32', shape: [1] })).toBe(false);
    expect(isTensorLike({ dtype: 1, shape: [1], data: [] })).toBe(false);
    expect(isTensorLike({ dtype: 'float32', shape: '1', data: [] })).toBe(false);
    expect(isTensorLike({ type: 'float32', dims: [1], data: [] })).toBe(false);
    expect(isTensorLike(null)).toBe(false);
  });
});

describe('describeContainer, describeLocation and constructorNameOf', () => {
  it('names containers and their place', () => {
    expect(describeContainer(new Conv1D())).toBe('the Conv1D');
    expect(describeContainer([])).toBe('the list');
    expect(describeContainer(new Map())).toBe('the Map');
    expect(describeContainer({})).toBe('the object');
    expect(describeContainer(new InferenceSession())).toBe('the InferenceSession');
    expect(describeLocation('')).toBe('at the root');
    expect(describeLocation('transformer.h')).toBe('at "transformer.h"');
  });

  it('falls back to "object" for anonymous or odd constructors', () => {
    expect(constructorNameOf(new (class {})())).toBe('object');
    expect(constructorNameOf(Object.create({ constructor: 5 }))).toBe('object');
    expect(constructorNameOf(new Float32Array(1))).toBe('Float32Array');
  });

  it('uses the constructor name for a foreign module without moduleType', () => {
    class ForeignLinear {
      get [Symbol.for('ptq.module')](): true {
        return true;
      }
    }
    expect(describeContainer(new ForeignLinear())).toBe('the ForeignLinear');
    expect(describeValue(new ForeignLinear())).toBe('a ForeignLinear module');
  });
});
