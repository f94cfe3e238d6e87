import { InvalidArgumentError } from '@ptq/errors';
import { describe, expect, it } from 'vitest';
import { INTEGER_RANGE, MAXBOUND, maxboundOf } from './maxbound';

describe('maxbound', () => {
  it('holds ModelOpt maxbounds and TensorRT integer ranges', () => {
    expect(MAXBOUND).toEqual({ int8: 127, int4: 7, float8e4m3fn: 448 });
    expect(INTEGER_RANGE).toEqual({ int8: { min: -128, max: 127 }, int4: { min: -8, max: 7 } });
  });

  it.each([
    ['int8', {}, 127],
    ['int4', {}, 7],
    ['float8e4m3fn', {}, 448],
    [8, {}, 127],
    [4, {}, 7],
    [8, { unsigned: true }, 255],
    [4, { unsigned: true }, 15],
    [2, {}, 1],
    [16, {}, 32767],
    [32, {}, 2147483647],
    [32, { unsigned: true }, 4294967295],
    [[4, 3] as const, {}, 448],
  ] as const)('maxboundOf(%j, %j) = %d', (format, options, expected) => {
    expect(maxboundOf(format, options)).toBe(expected);
  });

  it.each([1, 33, 4.5, Number.NaN])('rejects numBits %s', (numBits) => {
    expect(() => maxboundOf(numBits)).toThrow(InvalidArgumentError);
    expect(() => maxboundOf(numBits)).toThrow(/numBits.*\[2, 32\]/);
  });

  it('rejects float formats other than e4m3 and unknown names', () => {
    expect(() => maxboundOf([5, 2])).toThrow(/\[4, 3\].*got \[5, 2\]/);
    expect(() => maxboundOf('int16' as 'int8')).toThrow(/format.*got int16/);
  });
});
